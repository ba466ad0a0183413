"""The pages themselves: the development debug page and the production error page."""

from __future__ import annotations

import html
import linecache
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rum
from rum import Response
from rum.errorpage import status_title

if TYPE_CHECKING:
    from rum import Request

CONTEXT_LINES = 5
#: request headers whose values the debug page does not show
HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization"})

_STYLE = """
:root{--bg:#f6f7f9;--fg:#1d2330;--muted:#667085;--card:#fff;--line:#e4e7ec;--accent:#c0262d;
--hi:#fff4d6;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:2rem 1.25rem 4rem}
header.error{background:var(--accent);color:#fff;padding:1.5rem 1.25rem}
header.error div{max-width:1100px;margin:0 auto}
header.error .kind{font:600 .85rem var(--mono);opacity:.85;text-transform:none}
header.error h1{margin:.25rem 0 0;font-size:1.35rem;font-weight:600;white-space:pre-wrap;
word-break:break-word}
header.error .where{margin-top:.5rem;font:.85rem var(--mono);opacity:.9}
h2{font-size:1rem;margin:2rem 0 .75rem;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
.frame{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:.75rem 0;
overflow:hidden}.frame .loc{padding:.5rem .9rem;font:.85rem var(--mono);border-bottom:1px solid
var(--line)}.frame .loc b{color:var(--accent)}.frame.app{border-left:4px solid var(--accent)}
pre.src{margin:0;padding:.4rem 0;font:.82rem/1.55 var(--mono);overflow-x:auto}
pre.src span{display:block;padding:0 .9rem}pre.src span.hl{background:var(--hi);font-weight:600}
pre.src i{display:inline-block;width:3.5em;color:var(--muted);font-style:normal;
user-select:none}details{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:.5rem .9rem;margin:.75rem 0}summary{cursor:pointer;color:var(--muted)}
details .frame{margin:.5rem 0}table{border-collapse:collapse;width:100%;background:var(--card);
border:1px solid var(--line);border-radius:8px}td,th{text-align:left;padding:.35rem .9rem;
border-bottom:1px solid var(--line);font:.85rem var(--mono);vertical-align:top;
word-break:break-all}th{width:14rem;color:var(--muted);font-weight:500}
textarea{width:100%;height:14rem;font:.8rem var(--mono);border:1px solid var(--line);
border-radius:8px;padding:.75rem}button{font:inherit;padding:.35rem .9rem;border-radius:6px;
border:1px solid var(--line);background:var(--card);cursor:pointer}
.chain{color:var(--muted);font-style:italic}
"""

_PLAIN_STYLE = """
*{box-sizing:border-box}html,body{height:100%}body{margin:0;display:flex;align-items:center;
justify-content:center;background:#f6f7f9;color:#1d2330;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.card{max-width:34rem;padding:2.5rem;text-align:center}
.code{font-size:4.5rem;font-weight:700;letter-spacing:-.03em;color:#c0262d;line-height:1}
h1{font-size:1.4rem;margin:.75rem 0 .5rem}p{color:#475467;margin:.25rem 0}
a{color:#1d4ed8}small{color:#98a2b3}
"""


def _doc(title: str, style: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport"
            f"\" content=\"width=device-width,initial-scale=1\"><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{body}</body></html>")


def error_page(request: Request | None, status: int, detail: str) -> Response:
    """A clean page for ``status`` with ``detail``: no traceback, fit for production."""
    title = status_title(status)
    rid = getattr(request, "id", "") or ""
    body = (f"<div class=\"card\"><div class=\"code\">{status}</div><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(detail)}</p><p><a href=\"/\">Back to the home page</a></p>"
            + (f"<p><small>request id {html.escape(rid)}</small></p>" if rid else "") + "</div>")
    return Response.html(_doc(f"{status} {title}", _PLAIN_STYLE, body), status)


def _framework_dirs(plugins: Any) -> list[Path]:
    dirs = {Path(rum.__file__).resolve().parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        dirs.add(Path(sysconfig.get_paths()[key]).resolve())
    for _, plugin in plugins.pm.list_name_plugin() if plugins is not None else ():
        package = getattr(plugin, "__name__", "").partition(".")[0]
        module = sys.modules.get(package)
        if package and getattr(module, "__file__", None):
            dirs.add(Path(module.__file__).resolve().parent)  # type: ignore[union-attr, arg-type]
    return list(dirs)


def split_frames(exc: BaseException, plugins: Any = None
                 ) -> tuple[list[traceback.FrameSummary], list[traceback.FrameSummary]]:
    """``(app_frames, framework_frames)`` of ``exc``'s traceback, innermost first.

    Framework frames are those in Rum, in enabled plugins' packages, in the standard library
    and in installed packages; the rest are the app's.
    """
    dirs = _framework_dirs(plugins)
    app: list[traceback.FrameSummary] = []
    framework: list[traceback.FrameSummary] = []
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        inside = frame.filename.startswith("<") or any(path.is_relative_to(d) for d in dirs)
        (framework if inside else app).append(frame)
    return app, framework


def _source(frame: traceback.FrameSummary, context: int) -> str:
    lineno = frame.lineno or 0
    lines = []
    for n in range(max(1, lineno - context), lineno + context + 1):
        text = linecache.getline(frame.filename, n)
        if not text:
            continue
        cls = " class=\"hl\"" if n == lineno else ""
        lines.append(f"<span{cls}><i>{n}</i>{html.escape(text.rstrip())}</span>")
    return f"<pre class=\"src\">{''.join(lines)}</pre>" if lines else ""


def _frame(frame: traceback.FrameSummary, root: Path | None, app: bool) -> str:
    path = Path(frame.filename)
    shown = str(path.relative_to(root)) if root and path.is_relative_to(root) else frame.filename
    return (f"<div class=\"frame{' app' if app else ''}\"><div class=\"loc\">{html.escape(shown)}"
            f":{frame.lineno} in <b>{html.escape(frame.name)}</b></div>"
            f"{_source(frame, CONTEXT_LINES if app else 2)}</div>")


def _request_rows(request: Request) -> str:
    route = getattr(request, "route", None)
    rows: list[tuple[str, Any]] = [
        ("request", f"{request.method} {request.url}"),
        ("request id", request.id), ("client", request.client),
        ("route", f"{route.path} → {type(route.controller).__qualname__}" if route else "-"),
        ("path parameters", getattr(request, "path_params", None) or "-"),
    ]
    rows += [(f"header {name}", "(hidden)" if name.lower() in HIDDEN_HEADERS else value)
             for name, value in request.headers.items()]
    return "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)


def debug_page(request: Request, exc: BaseException, root: Path | None = None,
               plugins: Any = None) -> Response:
    """The development page for an unhandled ``exc``: the error, the app's frames first with
    their source, framework frames collapsed, the request, and a copy-as-text block.

    Never use it in production: it shows source code and request headers.
    """
    root = Path(root).resolve() if root is not None else None
    sections = []
    for n, error in enumerate(_chain(exc)):
        app, framework = split_frames(error, plugins)
        head = (f"<p class=\"chain\">caused by {html.escape(type(error).__name__)}: "
                f"{html.escape(str(error))}</p>" if n else "")
        frames = "".join(_frame(f, root, True) for f in app) or "<p>No frames in the app.</p>"
        hidden = "".join(_frame(f, root, False) for f in framework)
        more = (f"<details><summary>{len(framework)} framework frames (Rum, plugins, libraries)"
                f"</summary>{hidden}</details>") if framework else ""
        sections.append(f"{head}{frames}{more}")
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    text = (f"{request.method} {request.url} (request id {request.id})\n\n"
            + "".join(traceback.format_exception(exc)))
    body = (
        f"<header class=\"error\"><div><div class=\"kind\">500 · {html.escape(kind)}</div>"
        f"<h1>{html.escape(str(exc) or type(exc).__name__)}</h1><div class=\"where\">"
        f"{html.escape(request.method)} {html.escape(request.raw_path)}</div></div></header><main>"
        f"<h2>Traceback, the app's frames first</h2>{''.join(sections)}"
        f"<h2>Request</h2><table>{_request_rows(request)}</table>"
        "<h2>Copy as text</h2><p><button type=\"button\" onclick=\"navigator.clipboard."
        "writeText(document.getElementById('rum-trace').value)\">Copy</button></p>"
        f"<textarea id=\"rum-trace\" readonly>{html.escape(text)}</textarea></main>")
    return Response.html(_doc(f"500 {type(exc).__name__}", _STYLE, body), 500)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``/``__context__``)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    return chain
