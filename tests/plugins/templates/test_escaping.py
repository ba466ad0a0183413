"""Autoescaped output (``.html`` templates): Rum prints through its own ``escape_output``, which
must give exactly ``markupsafe.escape``'s text for every kind of value, and must not change how
captured blocks, macros and ``safe`` values are escaped (never twice, never not at all)."""

from __future__ import annotations

import enum

import jinja2
import pytest
from markupsafe import Markup, escape

from rum_templates import Template
from rum_templates.codegen import escape_output


class Shown:
    def __html__(self) -> str:
        return "<b>shown</b>"


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    pass


VALUES = ["plain", "<script>alert('x') & \"y\"</script>", "", "ünïcode <é>", 0, -42,
          10**30, True, 1.5, Markup("<i>safe</i>"), Shown(), Level.HIGH, Text("<sub>"),
          ["<li>"], {"k": "<v>"}]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_escape_output_gives_markupsafes_text(value: object) -> None:
    assert str(escape_output(value)) == str(escape(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_printed_values_match_markupsafe_escape(value: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fast = Template.from_str("[<%= v %>]", name="page.html").render({"v": value})
    native = Template.from_str("[{{ v }}]", name="page.html", native=True).render({"v": value})
    assert native == jinja2.Environment(autoescape=True).from_string("[{{ v }}]").render(v=value)
    # the same templates compiled with markupsafe.escape as the output escape
    monkeypatch.setattr("rum_templates.codegen.escape_output", escape)
    assert Template.from_str("[<%= v %>]", name="page.html").render({"v": value}) == fast
    assert Template.from_str("[{{ v }}]", name="page.html",
                             native=True).render({"v": value}) == native


def test_captures_macros_and_filters_escape_once() -> None:
    source = ("{% set box %}<p>{{ v }}</p>{% endset %}{{ box }}|"
              "{% macro m(x) %}<em>{{ x }}</em>{% endmacro %}{{ m(v) }}|"
              "{% filter upper %}{{ v }}{% endfilter %}|{{ v|safe }}|{{ v ~ '<' }}|"
              "{{ [v, 1]|join(',') }}")
    plain = jinja2.Environment(autoescape=True).from_string(source)
    rum = Template.from_str(source, name="page.html", native=True)
    value = "<a href='x'>&</a>"
    assert rum.render({"v": value}) == plain.render(v=value)
    assert "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;" in rum.render({"v": value})
    assert "&amp;lt;" not in rum.render({"v": value})  # never escaped twice


def test_text_templates_are_not_escaped() -> None:
    assert Template.from_str("<%= v %> <%= n %>", name="mail.txt").render(
        {"v": "<&>", "n": 3}) == "<&> 3"
