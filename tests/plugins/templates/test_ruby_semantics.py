"""Ruby semantics (the default): values print and divide like Rails' ERB; blocks; the docs'
table and examples render exactly as docs/templates.md says; `semantics = "python"`."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from rum_templates import Template, TemplateRenderError, TemplateSyntaxError, translate
from rum_templates.engine import Templates
from rum_templates.ruby import ruby_div, ruby_float, ruby_inspect

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "templates.md"
TABLE_CONTEXT = {"price": 7, "ratio": 2.5, "nothing": None, "tags": ["a", "b"]}


def render(source: str, **context: object) -> str:
    return Template.from_str(source).render(context)


def python_render(source: str, **context: object) -> str:
    engine = Templates([], semantics="python")
    return engine.render_template(engine.from_string(source), context)


def section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def table_rows() -> list[tuple[str, str]]:
    """(template, expected) for every row of the Ruby semantics table in the guide."""
    rows = []
    for line in section("Ruby semantics").splitlines():
        if not line.startswith("| `<%"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        templates = re.findall(r"`([^`]+)`", cells[0])
        prints = re.findall(r"`([^`]*)`|\*\(nothing\)\*", cells[1])
        expected = re.findall(r"`[^`]*`|\*\(nothing\)\*", cells[1])
        assert len(templates) == len(expected), line
        for template, shown in zip(templates, expected, strict=True):
            value = "" if shown.startswith("*") else shown[1:-1]
            rows.append((template.replace("\\|", "|"), value.replace("\\|", "|")))
        assert prints
    return rows


def test_the_guide_table_is_complete() -> None:
    rows = table_rows()
    assert len(rows) >= 20
    assert ("<%= 7 / 2 %>", "3") in rows


@pytest.mark.parametrize(("source", "expected"), table_rows())
def test_the_guide_table_renders_as_documented(source: str, expected: str) -> None:
    out = render(source, **TABLE_CONTEXT)
    # The table shows values before HTML escaping; the page escapes quotes and `>`.
    assert out == str(Markup.escape(expected)), source


@dataclass
class Order:
    id: int
    open: bool
    items: list[str] = field(default_factory=list)
    total: float = 0
    qty: int = 2


def test_the_guide_block_example_renders_as_documented() -> None:
    text = section("Ruby semantics")
    match = re.search(r"```erb\n(.*?)```\n\n```text\n(.*?)```", text, re.S)
    assert match is not None
    orders = [Order(1, True, ["tea", "rum"], 4), Order(2, False, [], 8),
              Order(3, True, ["lime"], 3.0)]
    assert render(match.group(1), orders=orders) == match.group(2)


# -- printing -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (None, ""), (True, "true"), (False, "false"), (0, "0"), (-12, "-12"), ("", ""),
    (1.0, "1.0"), (0.1 + 0.2, "0.30000000000000004"), (1e15, "1000000000000000.0"),
    (1e16, "1.0e+16"), (1.5e300, "1.5e+300"), (0.0001, "0.0001"), (1e-05, "1.0e-05"),
    (-0.0, "-0.0"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (math.nan, "NaN"),
    (Decimal("12.50"), "12.50"), ([], "[]"), ((1, 2), "[1, 2]"), ({}, "{}"),
    ({"k": [1.0, None]}, '{"k" => [1.0, nil]}'), (range(1, 4), "1..3"),
    (["tab\there", 'q"uote', "#{x}"], r'["tab\there", "q\"uote", "\#{x}"]'),
    (dt.datetime(2026, 12, 1, 3, 4, 5, 678, tzinfo=dt.UTC), "2026-12-01 03:04:05 UTC"),
    (dt.datetime(2026, 12, 1, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     "2026-12-01 03:04:05 +0100"),
    (dt.datetime(2026, 12, 1, 3, 4, 5), "2026-12-01 03:04:05"),
    (dt.date(2026, 12, 1), "2026-12-01"),
])
def test_values_print_like_ruby(value: object, expected: str) -> None:
    template = Template.from_str("<%= v %>|<%= v.to_s %>|<%= \"#{v}\" %>", name="v.txt")
    assert template.render(v=value) == f"{expected}|{expected}|{expected}"


def test_markup_and_objects_print_unchanged() -> None:
    class Model:
        def __str__(self) -> str:
            return "<Model #1>"

    assert render("<%= m %>|<%= raw %>|<%= s %>", m=Model(), raw=Markup("<b>ok</b>"),
                  s="<i>") == "&lt;Model #1&gt;|<b>ok</b>|&lt;i&gt;"
    assert render("<%- v %>", v=None) == ""
    assert render("<%- v %>", v=[1]) == "[1]"


def test_printing_an_undefined_name_is_still_an_error() -> None:
    with pytest.raises(TemplateRenderError, match=r"<string>:1:4: 'usr' is undefined"):
        render("ab <%= usr %>", user=1)


def test_ruby_helpers_directly() -> None:
    assert ruby_float(2.0) == "2.0" and ruby_float(1e100) == "1.0e+100"
    assert ruby_inspect([None, True, "é\x00"]) == '[nil, true, "é\\x00"]'
    assert ruby_div(7, 2) == 3 and ruby_div(-7, 2) == -4 and ruby_div(7, -2) == -4
    assert ruby_div(7.0, 2) == 3.5 and ruby_div(Decimal(7), 2) == Decimal("3.5")
    assert ruby_div(-1, 0.0) == -math.inf and math.isnan(ruby_div(0, 0.0))
    with pytest.raises(ZeroDivisionError, match="divided by 0"):
        ruby_div(Decimal(1), 0)


# -- division -------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= a / b %>", "3"), ("<%= -a / b %>", "-4"), ("<%= a / -b %>", "-4"),
    ("<%= a.to_f / b %>", "3.5"), ("<%= a / 2.0 %>", "3.5"), ("<%= a % b %>", "1"),
    ("<%= -a % b %>", "1"), ("<%= a // b %>", "3"), ("<%= (a / b) * b %>", "6"),
    ("<%= 10 / 4 / 2 %>", "1"), ("<%= a / b + 0.5 %>", "3.5"),
])
def test_division_is_rubys(source: str, expected: str) -> None:
    assert render(source, a=7, b=2) == expected


def test_constant_division_is_folded_at_compile_time() -> None:
    assert translate("<%= 7 / 2 %>").source == "{{ (((7)|rum_div(2)))|rum_print }}"
    engine = Templates([])
    code = engine.env.compile(engine.translate("<%= 7 / 2 %>").source, raw=True)
    assert "yield '3'" in code and "(7, 2)" not in code


@pytest.mark.parametrize("source", ["<p>\n  <%= total / count %>\n</p>",
                                    "<p>\n  <% avg = total / count %><%= avg %></p>",
                                    "<p>\n  <%= total % count %></p>"])
def test_integer_division_by_zero_names_template_and_line(source: str) -> None:
    template = Template.from_str(source, name="stats.html")
    with pytest.raises(TemplateRenderError) as info:
        template.render(total=10, count=0)
    assert info.value.template == "stats.html" and info.value.line == 2
    assert "ZeroDivisionError" in info.value.message
    assert "by 0" in info.value.message or "by zero" in info.value.message


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= 7.div(2) %>|<%= -7.div(2) %>|<%= 7.fdiv(2) %>|<%= 1.fdiv(0) %>", "3|-4|3.5|Infinity"),
    ("<%= 2.5.floor %>|<%= -2.5.floor %>|<%= 2.1.ceil %>|<%= -2.5.ceil %>", "2|-3|3|-2"),
    ("<%= -7.abs %>|<%= - 7.abs %>|<%= 3 -1 %>|<%= 3 - -1 %>|<%= -x %>|<%= [-1, -2].sum %>",
     "7|-7|2|4|-4|-3"),
])
def test_number_methods_and_negative_literals(source: str, expected: str) -> None:
    assert render(source, x=4) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= xs.first %>|<%= xs.last %>|<%= empty.first %>|<%= empty.last %>", "1|3||"),
    ("<%= xs.first(2) %>|<%= xs.last(2) %>|<%= xs.last(0) %>|<%= (1..3).last %>",
     "[1, 2]|[2, 3]|[]|3"),
    ("<%= 'abc'.first %>|<%= 'abc'.last(2) %>|<%= h.first %>|<%= h.last.last %>",
     "a|bc|[&#34;a&#34;, 1]|2"),
    ("<%= [1, nil, [2, [nil, 3]]].flatten.compact %>|<%= {a: nil, b: 1}.compact %>",
     "[1, 2, 3]|{&#34;b&#34; =&gt; 1}"),
    ("<%= ' '.presence || 'anon' %>|<%= 'ann'.presence || 'anon' %>|<%= nil.presence %>",
     "anon|ann|"),
])
def test_collection_methods_like_ruby(source: str, expected: str) -> None:
    assert render(source, xs=[1, 2, 3], empty=[], h={"a": 1, "b": 2}) == expected


def test_div_by_zero_is_located() -> None:
    with pytest.raises(TemplateRenderError, match=r"n\.html:2:1: ZeroDivisionError: divided by 0"):
        Template.from_str("\n<%= 7.div(n) %>", name="n.html").render(n=0)


# -- safe navigation ------------------------------------------------------------------------


class Person:
    def __init__(self, name: str, boss: Person | None = None) -> None:
        self.name = name
        self.boss = boss


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= ann&.name %>|<%= nobody&.name %>", "ann|"),
    ("<%= ann&.name.upcase %>|<%= nobody&.name.upcase %>", "ANN|"),  # the chain short-circuits
    ("<%= bob.boss&.name %>|<%= ann.boss&.name %>", "ann|"),
    ("<%= cy&.boss&.boss&.name.length %>|<%= bob&.boss&.boss&.name %>", "3|"),
    ("<%= nobody&.name || \"anon\" %>", "anon"),
    ("<% if ann.boss&.name %>boss<% else %>none<% end %>", "none"),
    ("<%= [ann, nobody].map { |p| p&.name } %>", "[&#34;ann&#34;, nil]"),
])
def test_safe_navigation(source: str, expected: str) -> None:
    ann = Person("ann")
    bob = Person("bob", ann)
    cy = Person("cy", bob)
    assert render(source, ann=ann, bob=bob, cy=cy, nobody=None) == expected


def test_safe_navigation_on_an_undefined_name_is_still_an_error() -> None:
    with pytest.raises(TemplateRenderError, match="'missing' is undefined"):
        render("<%= missing&.name %>")


# -- blocks ---------------------------------------------------------------------------------


@dataclass
class User:
    name: str
    age: int
    admin: bool = False


USERS = [User("ann", 31, True), User("bob", 17), User("cy", 45)]


@pytest.mark.parametrize(("source", "expected"), [
    ('<%= users.map { |u| u.name.upcase }.join(", ") %>', "ANN, BOB, CY"),
    ('<%= users.map do |u| u.name end.join(", ") %>', "ann, bob, cy"),
    ('<%= users.map(&:name).join("/") %>', "ann/bob/cy"),
    ("<%= users.map { it.age } %>", "[31, 17, 45]"),
    ("<%= users.select { |u| u.age >= 18 }.map(&:name).join(' ') %>", "ann cy"),
    ("<%= users.filter { |u| u.admin }.length %>", "1"),
    ("<%= users.reject { |u| u.admin }.map(&:name) %>", '[&#34;bob&#34;, &#34;cy&#34;]'),
    ("<%= users.sort_by { |u| -u.age }.first.name %>", "cy"),
    ("<%= users.min_by { |u| u.age }.name %>/<%= users.max_by(&:age).name %>", "bob/cy"),
    ("<%= users.sum { |u| u.age } %>/<%= users.sum(0.5) { |u| u.age } %>", "93/93.5"),
    ("<%= users.count { |u| u.age > 20 } %>/<%= users.count %>", "2/3"),
    ("<%= users.any? { |u| u.age > 40 } %>/<%= users.all? { |u| u.age > 40 } %>"
     "/<%= users.none? { |u| u.age > 90 } %>", "true/false/true"),
    ("<%= users.find { |u| u.age < 18 }.name %>/<%= users.detect { |u| u.age > 99 } %>",
     "bob/"),
    ("<%= users.find_index { |u| u.name == 'cy' } %>", "2"),
    ("<%= users.each_with_index.map { |u, i| \"#{i + 1}.#{u.name}\" }.join(' ') %>",
     "1.ann 2.bob 3.cy"),
    ("<%= users.group_by { |u| u.age >= 18 }[true].length %>", "2"),
    ("<%= users.index_by(&:name)['bob'].age %>", "17"),
    ("<%= users.partition(&:admin).map(&:length) %>", "[1, 2]"),
    ("<%= [3, 1, 3, 2].uniq { |n| n % 2 } %>", "[3, 2]"),
    ("<%= [1, 2, 3, 1].take_while { |n| n < 3 } %>/<%= [1, 2, 3, 1].drop_while { |n| n < 3 } %>",
     "[1, 2]/[3, 1]"),
    ("<%= [[1, 2], [3]].flat_map { |xs| xs } %>/<%= [1, 2, 3].filter_map { |n| n.odd? ? n * 10 "
     ": nil } %>", "[1, 2, 3]/[10, 30]"),
    ("<%= prices.map { |name, cents| \"#{name}=#{cents / 100.0}\" }.join(' ') %>",
     "tea=2.5 rum=10.0"),
    ("<%= prices.select { |name, cents| cents > 500 } %>", "{&#34;rum&#34; =&gt; 1000}"),
    ("<%= prices.sort_by { |name, cents| -cents }.first %>", "[&#34;rum&#34;, 1000]"),
    ("<%= 3.times.map { |i| i * i } %>", "[0, 1, 4]"),
    ("<%= users.each_slice(2).map { |pair| pair.map(&:name).join('+') }.join(' | ') %>",
     "ann+bob | cy"),
    ("<%= users.map { |u| u.name }.map { |n| n.length }.sum %>", "8"),
    ("<%= users.map { |u| [u.name, u.age].join(':') }.join(',') %>", "ann:31,bob:17,cy:45"),
    ("<%= users.map { |u| {name: u.name} }.first %>", "{&#34;name&#34; =&gt; &#34;ann&#34;}"),
    ("<%= users.select { |u|\n  u.admin\n}.length %>", "1"),
    ("<%= users.map &:age %>", "[31, 17, 45]"),
    ("<%= users.sort { |a, b| b.name <=> a.name }.map(&:name).join %>", "cybobann"),
    ("<%= users.max { |a, b| a.age <=> b.age }.name %>/<%= users.min { |a, b| a.age <=> "
     "b.age }.name %>", "cy/bob"),
    ("<%= 1 <=> 2 %>/<%= 'b' <=> 'a' %>/<%= 2 <=> 2 %>/<%= 1 <=> 'a' %>", "-1/1/0/"),
])
def test_blocks_in_expressions(source: str, expected: str) -> None:
    assert render(source, users=USERS, prices={"tea": 250, "rum": 1000}) == expected


def test_block_parameters_shadow_outer_names_only_inside_the_block() -> None:
    source = ("<% u = \"outer\" %><%= users.map { |u| u.name }.join %>|<%= u %>|"
              "<% for u in users %><%= users.map { |x| x.age + u.age }.first %>,<% end %>|"
              "<%= users.map { |u| users.map { |v| u.age - v.age }.max }.min %>")
    assert render(source, users=USERS) == "annbobcy|outer|62,48,76,|0"


def test_block_with_more_parameters_than_values_gets_nil() -> None:
    assert render("<%= xs.map { |a, b| b.nil? } %>", xs=[1, [2, 3]]) == "[true, false]"


def test_blocks_that_span_tags_are_loops() -> None:
    source = ("<% users.each do |u| %>[<%= u.name %>]<% end %>"
              "<% users.each { |u| %>(<%= u.age %>)<% } %>"
              "<% users.select(&:admin).each { |u| %>*<%= u.name %><% } %>"
              "<% users.each_slice(2) do |pair| %>{<%= pair.map(&:name).join(',') %>}<% end %>"
              "<% users.each_with_index { |u, i| %><% next if i == 1 %><%= i %><% } %>")
    assert render(source, users=USERS) == "[ann][bob][cy](31)(17)(45)*ann{ann,bob}{cy}02"


def test_multi_line_do_blocks_inside_one_code_tag() -> None:
    source = ("<%\n  total = users.sum do |u|\n    u.age\n  end\n  adults = users.count do |u|"
              " u.age >= 18 end\n%><%= total %>/<%= adults %>"
              "<%\n  users.each do |u|\n%>[<%= u.name %>]<% end %>")
    assert render(source, users=USERS) == "93/2[ann][bob][cy]"


def test_block_in_an_if_condition_and_assignment() -> None:
    source = ("<% adults = users.select { |u| u.age >= 18 } %>"
              "<% if users.any? { |u| u.admin } %>admins<% end %>:<%= adults.length %>")
    assert render(source, users=USERS) == "admins:2"


@pytest.mark.parametrize(("source", "message"), [
    ("<%= xs.upcase { |x| x } %>", r"`\.upcase` takes no block"),
    ("<%= xs.each { |x| x } %>", r"loops in a code tag"),
    ("<%= xs.map { |x| x %>", r"expected `%>`"),
    ("<%= xs.map { |x, x| x } %>", r"duplicate block parameter `x`"),
    ("<%= xs.map { |in| 1 } %>", r"`in` cannot name a block parameter"),
    ("<%= xs.map(&:name, 1) %>", r"`&:name` must be the last argument"),
    ("<% xs.each { |x| %><% end %>", r"closed by `<% } %>`, not `<% end %>`"),
    ("<% xs.each do |x| %><% } %>", r"stray `<% } %>`"),
    ("<% xs.each { |x| %>", r"`<% end %>` missing"),
    ("<% xs.map do |x| %><% end %>", r"a block spanning tags loops with `\.each`"),
])
def test_block_errors_are_located(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message) as info:
        Template.from_str(source, name="b.html")
    assert info.value.template == "b.html" and info.value.line == 1


# -- Rails spellings -------------------------------------------------------------------------


def test_rails_raw_output_tag_and_helpers() -> None:
    source = "<%== html %>|<%= raw(html) %>|<%= h(html) %>|<%= raw(nil) %>|<%= html %>"
    assert render(source, html="<b>&</b>") == \
        "<b>&</b>|<b>&</b>|&lt;b&gt;&amp;&lt;/b&gt;||&lt;b&gt;&amp;&lt;/b&gt;"
    assert render("<%= raw %>", raw="context wins") == "context wins"


def test_instance_variables_are_context_names() -> None:
    source = ("<% @users.each do |u| %><%= u.name %>,<% end %><%= @users.length %>"
              "<% @total = @users.sum(&:age) %>|<%= @total %>|<%= \"#{@users.first.name}\" %>")
    assert render(source, users=USERS) == "ann,bob,cy,3|93|ann"
    with pytest.raises(TemplateSyntaxError, match="unexpected character '@'"):
        render("<%= @ %>")


def test_case_when_else() -> None:
    source = ("<ul>\n"
              "<% for s in states %>\n"
              "  <% case s %>\n"
              "  <% when \"new\" %>\n"
              "  <li>fresh</li>\n"
              "  <% when \"shipped\", \"done\" %>\n"
              "  <li>gone</li>\n"
              "  <% when 1..3 %>\n"
              "  <li>small <% case s %><% when 2 %>two<% else %>n<% end %></li>\n"
              "  <% else %>\n"
              "  <li>other <%= s %></li>\n"
              "  <% end %>\n"
              "<% end %>\n"
              "</ul>\n")
    assert render(source, states=["new", "done", 2, 3, "x", 4]) == (
        "<ul>\n  <li>fresh</li>\n  <li>gone</li>\n  <li>small two</li>\n  <li>small n</li>\n"
        "  <li>other x</li>\n  <li>other 4</li>\n</ul>\n")
    assert render("<% case n() %><% when 1 %>one<% when 2 %>two<% end %>",
                  n=iter([2, 1]).__next__) == "two"  # the subject is evaluated once


@pytest.mark.parametrize(("source", "message"), [
    ("<% when 1 %>", r"`when` must be inside a `case`"),
    ("<% case %>", r"`case` needs a value"),
    ("<% case x %><% else %><% when 1 %><% end %>", r"`when` after `else`"),
    ("<% case x %><% when 1 %>", r"`<% end %>` missing for `case`"),
])
def test_case_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message):
        Template.from_str(source)


# -- trimming (Rails' Erubi) -----------------------------------------------------------------


def test_lines_holding_only_a_code_tag_leave_no_blank_line() -> None:
    source = ("<ul>\n"
              "  <% if show %>\n"
              "  <% for x in xs %>\n"
              "    <li><%= x %></li>\n"
              "  <% end %>\n"
              "  <% end %>\n"
              "</ul>\n")
    assert render(source, show=True, xs=[1, 2]) == "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>\n"
    assert render(source, show=False, xs=[]) == "<ul>\n</ul>\n"


def test_output_tag_lines_keep_their_newline_and_mixed_lines_stay() -> None:
    source = "a\n<%= x %>\nb <% if true %>c<% end %>\n\t<%# note %>\r\nd\n"
    assert render(source, x=None) == "a\n\nb c\nd\n"
    assert render("<% if true %>x<% end %>\n") == "x\n"  # not alone: the line stays


def test_trimming_can_be_switched_off() -> None:
    engine = Templates([], trim=False)
    template = engine.from_string("a\n  <% if true %>\nb\n  <% end %>\n")
    assert engine.render_template(template) == "a\n  \nb\n  \n"


# -- the setting ----------------------------------------------------------------------------


def test_python_semantics_keep_python_printing_and_division() -> None:
    source = ("<%= true %>|<%= nothing %>|<%= 7 / 2 %>|<%= 1e20 %>|<%= xs %>|<%= \"#{b}\" %>|"
              "<%= [1, nil].join(',') %>|<%= xs.map { |x| x.upcase }.join %>")
    assert python_render(source, nothing=None, xs=["a"], b=False) == \
        "True|None|3.5|1e+20|[&#39;a&#39;]|False|1,None|A"
    assert render(source, nothing=None, xs=["a"], b=False) == \
        "true||3|1.0e+20|[&#34;a&#34;]|false|1,|A"


def test_semantics_setting_is_validated(rum_app_factory, tmp_path) -> None:
    from rum.config import ConfigError

    (tmp_path / "Rum.toml").write_text("[templates]\nsemantics = \"perl\"\n")
    with pytest.raises((ConfigError, Exception), match="semantics"):
        rum_app_factory(plugins=["templates"], root=tmp_path)
    with pytest.raises(ValueError, match="semantics must be one of"):
        translate("x", semantics="perl")


def test_native_jinja_templates_keep_jinja_printing() -> None:
    template = Template.from_str("{{ t }}|{{ n }}|{{ 7 / 2 }}", native=True)
    assert template.render(t=True, n=None) == "True|None|3.5"


def test_strings_skip_the_conversion_entirely() -> None:
    jinja = translate('<%= name.upcase %><%= "lit" %><%= "a#{b}" %><%= xs.join(",") %>'
                      '<%= xs.length %><%= 42 %>').source
    assert "rum_print" not in jinja
    assert translate("<%= name %>").source == "{{ (name)|rum_print }}"


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_ruby_floats_round_trip_and_always_show_a_fraction_or_exponent(value: float) -> None:
    text = ruby_float(value)
    assert float(text) == value
    mantissa = text.split("e")[0]
    assert "." in mantissa  # Ruby never prints a float as "1" or "1e+20"
    assert re.fullmatch(r"-?\d+\.\d+(e[+-]\d{2,3})?", text)


DIVIDE = Template.from_str("<%= a / b %>|<%= a % b %>", name="divide.txt")


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(-1000, 1000).filter(bool))
def test_integer_division_floors_like_ruby(a: int, b: int) -> None:
    quotient, remainder = map(int, DIVIDE.render(a=a, b=b).split("|"))
    assert quotient * b + remainder == a  # Ruby's invariant: (a / b) * b + a % b == a
    assert 0 <= remainder * (1 if b > 0 else -1) < abs(b)  # the remainder takes b's sign


def test_every_block_method_is_documented() -> None:
    from rum_templates.blocks import BLOCK_METHODS

    blocks = section("Ruby semantics")
    assert [name for name in BLOCK_METHODS if f"`{name}`" not in blocks] == []
