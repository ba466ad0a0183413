"""Rum template syntax: the seed's examples and every operation, rendered for real."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rum_templates import Template, translate

SEED_QUICK_EXAMPLE = """<p><%= text %></p>

<ul>
<% for item in list %>
    <li><%= item.upcase %><li>
<% end %>
<ul>

<script>
<%- no_user_inputs_allowed_code %>
</script>

<% if value == "on" %>
    <p>Now you see me</p>
<% else %>
    <p>Now you don't</p>
<% end %>
"""


def render(source: str, **context: object) -> str:
    return Template.from_str(source).render(context)


def test_seed_ahoy_example() -> None:
    # The seed's own example (with the closing parenthesis its expected output shows).
    template = Template.from_str(
        "<p>Ahoy there, <%= first_name %>! (id: <%= user_id %>)</p>")

    @dataclass
    class Index:
        first_name: str
        user_id: int

    assert template.render(Index(first_name="Josh", user_id=1)) == \
        "<p>Ahoy there, Josh! (id: 1)</p>"
    # The seed's source as printed lacks the ")" its expected output has; it renders verbatim.
    literal = Template.from_str("<p>Ahoy there, <%= first_name %>! (id: <%= user_id %></p>")
    assert literal.render({"first_name": "Josh", "user_id": 1}) == \
        "<p>Ahoy there, Josh! (id: 1</p>"


def test_seed_quick_example_escapes_output_but_not_raw() -> None:
    out = render(SEED_QUICK_EXAMPLE, text="<script>alert(1)</script>", list=["a", "b"],
                 no_user_inputs_allowed_code="if (a < b) { go(); }", value="on")
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in out
    assert "<script>\nif (a < b) { go(); }\n</script>" in out
    assert "    <li>A<li>\n    <li>B<li>\n" in out
    assert "Now you see me" in out
    assert "Now you don't" not in out
    assert render(SEED_QUICK_EXAMPLE, text="", list=[], no_user_inputs_allowed_code="",
                  value="off").count("Now you don't") == 1


def test_seed_quick_example_exact_output() -> None:
    out = render(SEED_QUICK_EXAMPLE, text="hi", list=["x"], no_user_inputs_allowed_code="go()",
                 value="on")
    assert out == ("<p>hi</p>\n\n<ul>\n    <li>X<li>\n<ul>\n\n<script>\ngo()\n</script>\n\n"
                   "    <p>Now you see me</p>\n")


def test_raw_output_keeps_script_tags() -> None:
    assert render("<%- code %>", code="<script>x()</script>") == "<script>x()</script>"
    assert render("<%= code %>", code="<script>x()</script>") == \
        "&lt;script&gt;x()&lt;/script&gt;"
    assert render("<%= q %>", q="\"it's\" & more") == "&#34;it&#39;s&#34; &amp; more"


def test_seed_users_list_with_model_objects() -> None:
    class User:  # an ORM-like model: attributes and to_dict()
        def __init__(self, email: str) -> None:
            self.email = email

        def to_dict(self) -> dict[str, str]:
            return {"email": self.email}

    template = Template.from_str(
        "<ul>\n    <% for user in users %>\n        <li><%= user.email %></li>\n"
        "    <% end %>\n</ul>")
    out = template.render({"users": [User("a@x.org"), User("<b>@x.org")]})
    assert out == ("<ul>\n        <li>a@x.org</li>\n        <li>&lt;b&gt;@x.org</li>\n</ul>")


def test_context_object_with_attributes_and_properties() -> None:
    class Page:
        title = "Home"

        @property
        def subtitle(self) -> str:
            return "sub"

    assert render_obj("<%= title %>/<%= subtitle %>", Page()) == "Home/sub"


def render_obj(source: str, obj: object) -> str:
    return Template.from_str(source).render(obj)


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= 1 + 2 * 3 %>", "7"),
    ("<%= (1 + 2) * 3 %>", "9"),
    ("<%= 10 - 4 - 3 %>", "3"),
    ("<%= 7 / 2 %>", "3"),
    ("<%= 7.0 / 2 %>", "3.5"),
    ("<%= 7 // 2 %>", "3"),
    ("<%= 7 % 3 %>", "1"),
    ("<%= -n + 1 %>", "-4"),
    ("<%= n == 5 %>", "true"),
    ("<%= n != 5 %>", "false"),
    ("<%= n < 6 and n >= 5 %>", "true"),
    ("<%= n > 6 || n <= 4 %>", "false"),
    ("<%= !(n == 5) %>", "false"),
    ("<%= not n == 5 %>", "false"),
    ("<%= n == 5 && s == \"x\" %>", "true"),
    ("<%= 'single #{n}' %>", "single #{n}"),
    ("<%= \"double #{n + 1}!\" %>", "double 6!"),
    ("<%= \"tab\\tend\" %>", "tab\tend"),
    ("<%= [1, 2, 3][1] %>", "2"),
    ("<%= {a: 1, \"b\" => 2}[\"b\"] %>", "2"),
    ("<%= h[:a] %>", "1"),
    ("<%= h.a %>", "1"),
    ("<%= xs[0..1].join(\",\") %>", "a,b"),
    ("<%= (1..3).to_a.join(\",\") %>", "1,2,3"),
    ("<%= (1...3).to_a.join(\",\") %>", "1,2"),
    ("<%= nil.nil? %>", "true"),
    ("<%= true ? \"y\" : \"n\" %>", "y"),
    ("<%= n > 9 ? \"big\" : \"small\" %>", "small"),
    ("<%= 1_000 + 0.5 %>", "1000.5"),
    ("<%= s + \"y\" %>", "xy"),
])
def test_operations(source: str, expected: str) -> None:
    assert render(source, n=5, s="x", h={"a": 1}, xs=["a", "b", "c"]) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("<%= s.upcase %>", " HELLO WORLD "),
    ("<%= s.downcase %>", " hello world "),
    ("<%= s.strip.capitalize %>", "Hello world"),
    ("<%= s.strip.titleize %>", "Hello World"),
    ("<%= s.length %>", "13"),
    ("<%= xs.size %>", "3"),
    ("<%= xs.count %>", "3"),
    ("<%= s.strip %>", "hEllo world"),
    ("[<%= s.lstrip %>]", "[hEllo world ]"),
    ("[<%= s.rstrip %>]", "[ hEllo world]"),
    ("<%= n.to_s + \"!\" %>", "42!"),
    ("<%= \"12\".to_i + 1 %>", "13"),
    ("<%= \"1.5\".to_f * 2 %>", "3.0"),
    ("<%= xs.reverse.join(\"-\") %>", "c-b-a"),
    ("<%= \"abc\".reverse %>", "cba"),
    ("<%= xs.join %>", "abc"),
    ("<%= xs.join(\", \") %>", "a, b, c"),
    ("<%= xs.first %>", "a"),
    ("<%= xs.last %>", "c"),
    ("<%= xs.empty? %>", "false"),
    ("<%= empty.empty? %>", "true"),
    ("<%= xs.any? %>", "true"),
    ("<%= xs.include?(\"b\") %>", "true"),
    ("<%= s.include?(\"zzz\") %>", "false"),
    ("<%= \"b,a\".split(\",\").sort.join %>", "ab"),
    ("<%= [3, 1, 3].uniq.length %>/<%= [3, 1, 3].uniq.join %>", "2/31"),
    ("<%= [3, 1, 2].min %>/<%= [3, 1, 2].max %>/<%= [3, 1, 2].sum %>", "1/3/6"),
    ("<%= (0 - n).abs %>", "42"),
    ("<%= 2.567.round(1) %>/<%= 2.5.round %>/<%= (0 - 2.5).round %>", "2.6/3/-3"),
    ("<%= n.even? %>/<%= n.odd? %>/<%= 0.zero? %>", "true/false/true"),
    ("<%= \"  \".blank? %>/<%= s.present? %>", "true/true"),
    ("<%= h.keys.join(\",\") %>=<%= h.values.join(\",\") %>", "a=1"),
    ("<%= h.key?(\"a\") %>", "true"),
    ("<%= xs.take(2).join %>|<%= xs.drop(2).join %>", "ab|c"),
    ("<%= \"abc\".start_with?(\"ab\") %>/<%= \"abc\".end_with?(\"x\") %>", "true/false"),
    ("<%= \"a-b\".gsub(\"-\", \"+\") %>", "a+b"),
    ("<%= \"long text here\".truncate(9) %>", "long t..."),
    ("<%= h.to_json %>", "{\"a\": 1}"),
    ("<%= \"</script>\".to_json %>", "\"\\u003c/script\\u003e\""),
    ("<%= nothing.to_s %>|", "|"),
])
def test_methods(source: str, expected: str) -> None:
    assert render(source, s=" hEllo world ", xs=["a", "b", "c"], empty=[], n=42,
                  h={"a": 1}, nothing=None) == expected


def test_methods_compile_to_filters_not_wrappers() -> None:
    jinja = translate("<%= user.name.upcase %><%= xs.length %>").source
    assert jinja == "{{ (user.name|upper) }}{{ (xs|length) }}"


def test_if_elsif_else_unless() -> None:
    source = ("<% if n > 10 %>big<% elsif n > 5 %>medium<% else %>small<% end %>"
              "<% unless n == 0 %>!<% end %>")
    assert render(source, n=20) == "big!"
    assert render(source, n=7) == "medium!"
    assert render(source, n=0) == "small"


def test_for_loops_nested_with_else_break_next() -> None:
    source = ("<% for row in rows %>[<% for x in row %><% next if false %>"
              "<% if x == 3 %><% break %><% end %><%= x %><% end %>]<% else %>none<% end %>")
    assert render(source, rows=[[1, 2], [3, 4]]) == "[12][]"
    assert render(source, rows=[]) == "none"


def test_each_do_blocks_and_pairs() -> None:
    source = ("<% xs.each do |x| %><%= x %><% end %>|"
              "<% xs.each_with_index do |x, i| %><%= i %><%= x %><% end %>|"
              "<% 3.times do |i| %><%= i %><% end %>|"
              "<% h.each do |k, v| %><%= k %>=<%= v %><% end %>|"
              "<% for k, v in h %><%= k %><%= v %><% end %>")
    assert render(source, xs=["a", "b"], h={"k": 1}) == "ab|0a1b|012|k=1|k1"


def test_assignment_and_multiple_statements() -> None:
    source = "<% total = 0; label = \"sum\" %><% total += 5 %><%= label %>=<%= total %>"
    assert render(source) == "sum=5"
    multi = "<%\n  a = 1\n  b = a + 1\n%><%= a %><%= b %>"
    assert render(multi) == "12"


def test_literal_escape_and_comments() -> None:
    assert render("<%% not a tag %> <%# a comment %>x") == "<% not a tag %> x"
    assert render("a\n<%# hidden\nover lines %>\nb") == "a\nb"


def test_text_that_looks_like_jinja_is_left_alone() -> None:
    source = "{{ not jinja }} {% neither %} {# nor #} a{<%= x %>}{"
    assert render(source, x=1) == "{{ not jinja }} {% neither %} {# nor #} a{1}{"


def test_code_lines_are_trimmed_and_dash_trims_newline() -> None:
    source = "<ul>\n  <% for x in xs %>\n  <li><%= x %></li>\n  <% end %>\n</ul>\n"
    assert render(source, xs=[1, 2]) == "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n"
    assert render("<%= 1 -%>\nx") == "1x"


def test_strings_containing_the_closing_marker() -> None:
    assert render("<%= \"100%>\" %>") == "100%&gt;"


def test_undefined_names_are_false_in_if() -> None:
    assert render("<% if missing %>yes<% else %>no<% end %>") == "no"
    assert render("<% if user && user.admin %>admin<% end %>.", user=None) == "."


def test_url_for_and_request_globals_without_app() -> None:
    assert render("<%= request.nil? %>") == "true"


def test_text_templates_are_not_html_escaped() -> None:
    template = Template.from_str("Hi <%= name %>\n", name="mail.txt")
    assert template.render(name="<Ann & Bob>") == "Hi <Ann & Bob>\n"


def test_native_jinja_from_str() -> None:
    template = Template.from_str("{{ x|upper }}{% for i in xs %}{{ i }}{% endfor %}",
                                 native=True)
    assert template.render(x="<a>", xs=[1, 2]) == "&lt;A&gt;12"


def test_render_kwargs_override_context() -> None:
    assert Template.from_str("<%= a %><%= b %>").render({"a": 1, "b": 2}, b=3) == "13"


def test_every_method_is_documented() -> None:
    from pathlib import Path

    from rum_templates import METHODS

    guide = (Path(__file__).parents[3] / "docs" / "templates.md").read_text()
    missing = [name for name in METHODS if f"`{name}" not in guide]
    assert missing == []


def test_super_and_nested_blocks_in_layouts() -> None:
    from rum_templates.translator import translate

    assert translate("<% block a %><%= super %>x<% end %>").source == \
        "{% block a %}{{ super() }}x{% endblock %}"


def test_orm_models_render_as_objects() -> None:
    from rum_orm import Model

    class Customer(Model):
        email: str
        name: str | None = None

    rows = [Customer(id=1, email="a@x.org"), Customer(id=2, email="<b>", name="B")]
    source = "<% for c in customers %><%= c.id %>:<%= c.email %>:<%= c.name.to_s %>;<% end %>"
    assert render(source, customers=rows) == "1:a@x.org:;2:&lt;b&gt;:B;"
    assert Template.from_str("<%= email %>").render(rows[0]) == "a@x.org"


@pytest.mark.parametrize("trim", [True, False])
def test_translation_keeps_every_line_in_place(trim: bool) -> None:
    source = SEED_QUICK_EXAMPLE + ("<%\n  a = 1\n  b = 2\n%>\n<%# multi\nline %>\n"
                                   "  <% for x in xs -%>\n<%= render \"p.html\", v: x %>\n"
                                   "<% end %>\n<%= \"x\" +\n\"y\" %>{{\n")
    jinja = translate(source, trim=trim).source
    assert jinja.count("\n") == source.count("\n")
