"""Attribute reads (``obj.attr``) and the render context: Rum compiles both without Jinja2's
per-read and per-render Python calls, so each case here must print exactly what plain Jinja2
prints (or fail with the same undefined-value error), in Rum and in Jinja2 syntax."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from rum_templates import Template, TemplateRenderError
from rum_templates.codegen import RumCodeGenerator
from rum_templates.engine import Templates


class Plain:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class Both(dict[str, Any]):
    """Has an attribute ``items`` (the dict method) and an item ``"items"``: the attribute
    wins, as in Jinja2."""


class Computed:
    calls = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("dyn_"):
            Computed.calls += 1
            return name[4:].upper()
        raise AttributeError(name)

    def __getitem__(self, key: str) -> str:
        return f"item:{key}"


class Failing:
    @property
    def broken(self) -> str:
        raise AttributeError("inner")

    def __getitem__(self, key: str) -> str:
        return f"fallback:{key}"


CASES: list[tuple[str, dict[str, Any]]] = [
    ("{{ p.name }}", {"p": Plain(name="<Ann>")}),
    ("{{ p.inner.inner.name }}", {"p": Plain(inner=Plain(inner=Plain(name="deep")))}),
    ("{{ d.key }}", {"d": {"key": "from the item"}}),
    ("{{ d.key.sub }}", {"d": {"key": {"sub": "nested items"}}}),
    ("{{ c.dyn_x }}|{{ c.other }}", {"c": Computed()}),
    ("{{ f.broken }}", {"f": Failing()}),
    ("{{ b.items is callable }}", {"b": Both(items=1)}),
    ("{{ p.n + q.n }}", {"p": Plain(n=1), "q": Plain(n=41)}),
    ("{% for r in rows %}{{ r.id }}:{{ r.tag }};{% endfor %}",
     {"rows": [Plain(id=i, tag=f"<{i}>") for i in range(3)]}),
    ("{{ xs|map(attribute='v')|join(',') }}", {"xs": [Plain(v=1), Plain(v="<2>")]}),
    ("{% if p.missing is defined %}yes{% else %}no{% endif %}", {"p": Plain()}),
    ("{{ (p.a, p.b)|join('-') }}", {"p": Plain(a="x", b="y")}),
]


@pytest.mark.parametrize(("source", "context"), CASES, ids=[c[0] for c in CASES])
def test_attribute_reads_print_what_jinja2_prints(source: str, context: dict[str, Any]) -> None:
    expected = jinja2.Environment(autoescape=True).from_string(source).render(context)
    assert Template.from_str(source, name="page.html", native=True).render(context) == expected
    expected_text = jinja2.Environment().from_string(source).render(context)
    assert Template.from_str(source, name="page.txt", native=True).render(context) == \
        expected_text


def test_a_missing_attribute_is_read_once_and_named_in_the_error() -> None:
    Computed.calls = 0
    assert Template.from_str("<%= c.dyn_a %>").render(c=Computed()) == "A"
    assert Computed.calls == 1
    with pytest.raises(TemplateRenderError, match="no attribute 'nmae'"):
        Template.from_str("<%= p.nmae %>").render(p=Plain(name="x"))


def test_attribute_reads_inside_blocks_and_macros() -> None:
    rows = [Plain(name="b"), Plain(name="a")]
    assert Template.from_str("<%= rows.map { |r| r.name }.join(',') %>").render(rows=rows) \
        == "b,a"
    source = ("{% macro cell(r) %}<td>{{ r.name }}</td>{% endmacro %}"
              "{% for r in rows %}{{ cell(r) }}{% endfor %}")
    assert Template.from_str(source, name="t.html", native=True).render(rows=rows) == \
        "<td>b</td><td>a</td>"


def test_a_sandboxed_environment_keeps_jinja2s_checked_reads() -> None:
    env = SandboxedEnvironment()
    env.code_generator_class = RumCodeGenerator
    root = env.compile("{{ p.x }}", raw=True).split("def root", 1)[1].split("blocks = ", 1)[0]
    assert "environment.getattr(" in root
    assert "rum_missing" not in root
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ p.__class__.__subclasses__() }}").render(p=Plain())


def test_globals_set_after_compiling_are_seen(tmp_path: Any) -> None:
    engine = Templates([tmp_path], root=tmp_path, cache=True)
    template = engine.from_string("<%= greet %>, <%= who %>", "g.txt")
    engine.env.globals["greet"] = "Hi"
    assert engine.render_template(template, {"who": "Ann"}) == "Hi, Ann"
    engine.env.globals["greet"] = "Hello"
    assert engine.render_template(template, {"who": "Ann", "greet": "Yo"}) == "Yo, Ann"
    assert engine.render_template(template, {"who": "Bo"}) == "Hello, Bo"


def test_a_template_with_globals_of_its_own_still_sees_them(tmp_path: Any) -> None:
    engine = Templates([tmp_path], root=tmp_path, cache=True)
    own = engine.env.from_string("{{ site }}/{{ who }}", globals={"site": "rum"})
    assert engine.render_template(own, {"who": "ann"}) == "rum/ann"


def test_render_errors_still_point_at_the_template_line(tmp_path: Any) -> None:
    engine = Templates([tmp_path], root=tmp_path, cache=True)
    template = engine.from_string("line one\n<%= 1 / zero %>\n", "div.txt")
    with pytest.raises(TemplateRenderError) as info:
        engine.render_template(template, {"zero": 0})
    assert info.value.line == 2
    assert "ZeroDivisionError" in str(info.value)
