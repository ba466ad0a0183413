"""``[logging]``: app loggers at INFO in development, per-logger levels, a dictConfig
pass-through, and JSON lines that carry the request id under one name."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from rum import App, ConfigError
from rum.log import _request_id, setup_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    names = ["", "rum", "blog", "blog.jobs", "noisy", "watchfiles"]
    saved = {n: logging.getLogger(n).level for n in names}
    handlers = list(logging.getLogger().handlers)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def configure(tmp_path, toml: str = "", env: str = "development", fmt: str = "text"
              ) -> io.StringIO:
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n" + toml)
    app = App(root=tmp_path, env=env)
    out = io.StringIO()
    setup_logging("info", fmt, out, config=app.config)
    return out


def test_app_loggers_log_info_in_development(tmp_path) -> None:
    out = configure(tmp_path)
    logging.getLogger("blog.jobs").info("receipt sent")
    logging.getLogger("blog.jobs").debug("details")
    assert "INFO  blog.jobs [-] receipt sent" in out.getvalue()
    assert "details" not in out.getvalue()


def test_app_loggers_log_warnings_only_in_production(tmp_path) -> None:
    out = configure(tmp_path, env="production")
    logging.getLogger("blog.jobs").info("receipt sent")
    logging.getLogger("blog.jobs").warning("queue is long")
    assert "receipt sent" not in out.getvalue() and "queue is long" in out.getvalue()


def test_per_logger_levels_and_app_level(tmp_path) -> None:
    out = configure(tmp_path, '[logging]\napp_level = "error"\n'
                              'levels = {"blog.jobs" = "debug", "rum" = "warning"}\n',
                    env="production")
    logging.getLogger("blog.jobs").debug("job details")
    logging.getLogger("blog").warning("other app logger")
    logging.getLogger("rum.app").info("rum info")
    logging.getLogger("rum.app").warning("rum warning")
    text = out.getvalue()
    assert "job details" in text and "rum warning" in text
    assert "other app logger" not in text and "rum info" not in text


def test_dict_config_pass_through(tmp_path) -> None:
    configure(tmp_path, '[logging.config]\nformatters = {bare = {format = "BARE %(message)s"}}\n'
                        'handlers = {mem = {class = "logging.StreamHandler", '
                        'formatter = "bare", stream = "ext://sys.stdout"}}\n'
                        'loggers = {noisy = {handlers = ["mem"], level = "DEBUG", '
                        'propagate = false}}\n')
    noisy = logging.getLogger("noisy")
    assert noisy.level == logging.DEBUG and not noisy.propagate
    [handler] = noisy.handlers
    assert handler.formatter._fmt == "BARE %(message)s"
    noisy.removeHandler(handler)
    noisy.propagate = True


def test_bad_levels_are_config_errors_naming_the_table(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"\[logging\].*VERBOSE"):
        configure(tmp_path, '[logging]\nlevels = {"blog" = "verbose"}\n')
    with pytest.raises(ConfigError, match=r"app_level"):
        configure(tmp_path, '[logging]\napp_level = "loud"\n')


def test_json_lines_have_one_request_id(tmp_path) -> None:
    out = configure(tmp_path, fmt="json")
    token = _request_id.set("abc-1")
    try:
        logging.getLogger("blog").info("inside")
    finally:
        _request_id.reset(token)
    logging.getLogger("rum.access").info("after the request", extra={"request_id": "abc-2"})
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["request_id"] == "abc-1" and second["request_id"] == "abc-2"
    assert "rid" not in second
