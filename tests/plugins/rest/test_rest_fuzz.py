"""Property-based test of the REST endpoints: random query strings, bodies, ids and cursors
(the nasty values of issue 11 included) against a real server and the real PostgreSQL; no
response may be a 5xx or carry traceback text.

The server runs in a thread with its own trio loop, so Hypothesis drives it with a plain
synchronous client. The run is bounded: a fixed number of examples, and a time budget after
which the remaining examples pass at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rum import App
from rum_http.testing import serve_app
from rum_orm import Database
from rum_rest import FieldSpec, ModelController, Resource

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE gadgets (
    id bigserial PRIMARY KEY,
    qty bigint NOT NULL DEFAULT 0,
    small smallint,
    name text NOT NULL DEFAULT '',
    price numeric(10, 2),
    ratio double precision,
    flag boolean NOT NULL DEFAULT false,
    born date,
    seen_at timestamptz,
    token uuid,
    data jsonb,
    UNIQUE (name, qty)
);
CREATE TABLE codes (code text PRIMARY KEY, label text);
INSERT INTO gadgets (qty, name, price) VALUES (1, 'one', 1.5), (2, 'two', 2.5), (3, 'three', 3);
INSERT INTO codes VALUES ('a', 'A'), ('b', 'B');
"""

GADGET = Resource("Gadget", "gadgets", {
    "id": FieldSpec("id", int, primary_key=True, has_default=True),
    "qty": FieldSpec("qty", int, has_default=True),
    "small": FieldSpec("small", int, nullable=True),
    "name": FieldSpec("name", str, has_default=True),
    "price": FieldSpec("price", decimal.Decimal, nullable=True),
    "ratio": FieldSpec("ratio", float, nullable=True),
    "flag": FieldSpec("flag", bool, has_default=True),
    "born": FieldSpec("born", dt.date, nullable=True),
    "seen_at": FieldSpec("seen_at", dt.datetime, nullable=True),
    "token": FieldSpec("token", uuid.UUID, nullable=True),
    "data": FieldSpec("data", dict, nullable=True),
})
CODE = Resource("Code", "codes", {
    "code": FieldSpec("code", str, primary_key=True),
    "label": FieldSpec("label", str, nullable=True),
}, primary_key="code")

FIELDS = list(GADGET.fields)
OPS = ["", "__eq", "__ne", "__lt", "__lte", "__gt", "__gte", "__in", "__contains",
       "__isnull", "__bogus"]
LEAKS = ("Traceback", 'File "', "Error:", "Exception:", "asyncpg", "RecursionError")
EXAMPLES = 150
BUDGET_SECONDS = 12.0


@pytest.fixture
def base_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """A server in a thread with its own trio loop."""
    url, root = database_url, tmp_path
    started = threading.Event()
    found: dict[str, Any] = {}

    async def main() -> None:
        async with Database.open(url) as setup:
            await setup.execute(SCHEMA)
        app = App([*ModelController(GADGET).crud("/api/gadgets"),
                   *ModelController(CODE).crud("/api/codes")],
                  plugins=["http", "orm", "rest"], root=root,
                  config={"database": {"url": url, "pool_max": 4},
                          "http": {"access_log": False}})
        async with serve_app(app) as base:
            found["base"] = base
            found["stop"] = trio.Event()
            found["token"] = trio.lowlevel.current_trio_token()
            started.set()
            await found["stop"].wait()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported by the fixture
            found["error"] = exc
            started.set()

    thread = threading.Thread(target=run, name="rest-fuzz-server", daemon=True)
    thread.start()
    assert started.wait(60), "the fuzz server did not start"
    if "error" in found:
        raise found["error"]
    try:
        yield found["base"]
    finally:
        found["token"].run_sync_soon(found["stop"].set)
        thread.join(30)


# -- strategies ------------------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["99999999999999999999", "-99999999999999999999", "1e20", "1e999", "nan",
                     "inf", "-inf", "9" * 5000, "0x10", "1_000", "\x00", "a\x00b", "\ud800",
                     "x\udfffy", "", " ", "true", "null", "[]", "{}", "2026-13-45",
                     "9223372036854775808", "-9223372036854775809", "32768", "1e-400",
                     "1" + "0" * 300, "2026-01-01T00:00:00", "00000000-0000-0000-0000-0000"]),
    st.integers().map(str),
    st.floats().map(repr),
)


def encode_query_text(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


query_keys = st.one_of(
    st.builds(lambda f, op: f + op, st.sampled_from(FIELDS), st.sampled_from(OPS)),
    st.sampled_from(["limit", "offset", "order", "cursor"]),
    st.text(alphabet="abcdefghij_", min_size=1, max_size=8),
)
query_strings = st.lists(st.tuples(query_keys, nasty_text), max_size=5).map(
    lambda pairs: "&".join(f"{encode_query_text(k)}={encode_query_text(v)}" for k, v in pairs))

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    nasty_text, st.sampled_from([2**63, -(2**63) - 1, 2**70, 10**30, "1e200000", "12.345"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)
body_keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=6))
json_bodies = st.dictionaries(body_keys, json_values, max_size=5).map(
    lambda d: json.dumps(d).encode())  # NaN/Infinity literals and \\ud800 escapes included
raw_bodies = st.one_of(
    st.binary(max_size=60),
    st.integers(min_value=60, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=6000).map(lambda n: b'{"qty": ' + b"9" * n + b"}"),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"{", b'{"name": "\xed\xa0\x80"}',
                     b'{"data": {"k": "\\u0000"}}', b'{"ratio": NaN}', b'{"qty": 1e999}']),
)
bodies = st.one_of(json_bodies, raw_bodies)

cursor_payloads = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40),
    st.integers(min_value=2, max_value=3000).map(lambda n: b"[" * n + b"]" * n))
cursors = st.one_of(
    cursor_payloads.map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
    nasty_text)

ids = st.one_of(st.integers().map(str), nasty_text, st.just("1"), st.just("2"))

requests = st.one_of(
    st.tuples(st.just("GET"), st.just("/api/gadgets"), query_strings, st.none()),
    st.tuples(st.just("GET"), st.just("/api/gadgets"),
              st.builds(lambda c, o, q: f"cursor={encode_query_text(c)}&order={o}&{q}",
                        cursors, st.sampled_from(["", "name", "-qty", "price,-id", "born"]),
                        query_strings), st.none()),
    st.tuples(st.just("POST"), st.just("/api/gadgets"), st.just(""), bodies),
    st.tuples(st.sampled_from(["GET", "DELETE"]),
              ids.map(lambda i: "/api/gadgets/" + encode_query_text(i)), st.just(""),
              st.none()),
    st.tuples(st.sampled_from(["PUT", "PATCH"]),
              ids.map(lambda i: "/api/gadgets/" + encode_query_text(i)), st.just(""), bodies),
    st.tuples(st.sampled_from(["GET", "PUT", "PATCH", "DELETE"]),
              ids.map(lambda i: "/api/codes/" + encode_query_text(i)), st.just(""), bodies),
)

# -- the property -----------------------------------------------------------------------------


class Budget:
    """Stops exercising the server once the time budget (counted from the first example) is
    spent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline: float | None = None
        self.sent = 0

    @property
    def spent(self) -> bool:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        return now > self.deadline


def test_no_5xx_and_no_traceback_from_any_input(base_url: str) -> None:
    budget = Budget(BUDGET_SECONDS)

    with httpx.Client(base_url=base_url, timeout=30) as client:

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(requests, min_size=1, max_size=4))
        def check(batch: list[tuple[str, str, str, bytes | None]]) -> None:
            if budget.spent:
                return
            for method, path, query, body in batch:
                url = path + ("?" + query if query else "")
                r = client.request(method, url, content=body,
                                   headers={"content-type": "application/json"}
                                   if body is not None else {})
                budget.sent += 1
                sent = url + repr(body)
                assert r.status_code < 500, (method, url[:200], (body or b"")[:200], r.text)
                for leak in LEAKS:
                    assert leak not in r.text or leak in sent, (method, url[:200], r.text)

        check()
    print(f"rest fuzz: {budget.sent} requests")
    assert budget.sent >= 50, f"only {budget.sent} requests were sent"
