"""Malformed templates and failing renders: errors name the template, line and column."""

from __future__ import annotations

import pytest

from rum_templates import Template, TemplateRenderError, TemplateSyntaxError


def syntax_error(source: str, name: str = "page.html") -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as info:
        Template.from_str(source, name=name)
    return info.value


def test_unclosed_if_names_the_opening_line() -> None:
    err = syntax_error("<p>\n</p>\n  <% if user %>\n  hi\n")
    assert (err.template, err.line, err.column) == ("page.html", 3, 6)
    assert "`<% end %>` missing for `if` opened at line 3" in err.message
    assert str(err).startswith("page.html:3:6: ")


def test_unclosed_inner_block_is_reported() -> None:
    err = syntax_error("<% for x in xs %>\n<% if x %>\n<% end %>\n")
    assert (err.line, err.column) == (1, 4)
    assert "missing for `for` opened at line 1" in err.message


def test_stray_end() -> None:
    err = syntax_error("a\n<% if x %><% end %>\n  <% end %>")
    assert (err.line, err.column) == (3, 6)
    assert "stray `<% end %>`" in err.message


def test_else_and_elsif_out_of_place() -> None:
    assert "`else` must be inside an `if`, `case` or `for`" in syntax_error("<% else %>").message
    err = syntax_error("<% for x in y %><% elsif x %><% end %>")
    assert "`elsif` must follow an `if` (the open block is `for` from line 1)" in err.message
    err = syntax_error("<% if a %><% else %><% else %><% end %>")
    assert "second `else`" in err.message


def test_unclosed_tag() -> None:
    err = syntax_error("ok\n  <%= name \n<p>more</p>")
    assert (err.line, err.column) == (2, 3)
    assert "never closed: expected `%>`" in err.message


def test_bad_expressions_point_at_the_token() -> None:
    err = syntax_error("<p>\n<%= 1 + %></p>")
    assert (err.line, err.column) == (2, 9)
    assert "expected a value, found `%>`" in err.message
    err = syntax_error("<%= (a + b %>")
    assert "expected `)` to close `(`" in err.message
    err = syntax_error("<%= items.join \", \" %>")
    assert "method arguments need parentheses" in err.message
    assert err.column == 16
    err = syntax_error("<%= \"open %>")
    assert "never closed" in err.message
    err = syntax_error("<%= a $ b %>")
    assert "unexpected character '$'" in err.message
    assert err.column == 7


def test_unknown_method_suggests_a_close_one() -> None:
    err = syntax_error("<% if list.emtpy? %><% end %>")
    assert "unknown method `.emtpy?`; did you mean `.empty?`?" in err.message
    assert (err.line, err.column) == (1, 12)
    err = syntax_error("<%= name.upcase(1) %>")
    assert "`.upcase` takes 0 arguments, got 1" in err.message


def test_unsupported_statements_say_what_to_use() -> None:
    err = syntax_error("<% while x %>")
    assert "`while` is not supported" in err.message
    assert "for item in list" in err.message
    assert "prints nothing" in syntax_error("<% render \"x.html\" %>").message
    assert "outside a `for` loop" in syntax_error("<% break %>").message


def test_render_errors_name_line_and_column() -> None:
    template = Template.from_str("<ul>\n\n  <li><%= user.nmae %></li>\n</ul>", name="users.html")
    with pytest.raises(TemplateRenderError) as info:
        template.render(user=type("U", (), {"name": "x"})())
    err = info.value
    assert (err.template, err.line, err.column) == ("users.html", 3, 7)
    assert "has no attribute 'nmae'" in err.message
    assert "did you mean the attribute `.name`?" in err.message


def test_undefined_variable_suggests_context_names() -> None:
    template = Template.from_str("hi\n<%= usr %>", name="x.html")
    with pytest.raises(TemplateRenderError) as info:
        template.render(user="a")
    assert info.value.line == 2
    assert "'usr' is undefined; did you mean 'user'?" in info.value.message


def test_misspelled_method_without_question_mark_is_suggested_at_render() -> None:
    template = Template.from_str("<%= name.upcse %>")
    with pytest.raises(TemplateRenderError) as info:
        template.render(name="ann")
    assert "did you mean the Rum method `.upcase`?" in info.value.message


def test_python_errors_inside_templates_are_located() -> None:
    template = Template.from_str("a\nb\n<%= 1 / zero %>", name="math.html")
    with pytest.raises(TemplateRenderError) as info:
        template.render(zero=0)
    assert (info.value.line, info.value.column) == (3, 1)
    assert "ZeroDivisionError" in info.value.message
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_iterating_an_undefined_name_fails_loudly() -> None:
    template = Template.from_str("<% for x in missing %><%= x %><% end %>")
    with pytest.raises(TemplateRenderError, match="'missing' is undefined"):
        template.render()


def test_native_jinja_syntax_errors_are_mapped() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        Template.from_str("ok\n{% if x %}", name="page.j2", native=True)
    assert info.value.template == "page.j2"
    assert info.value.line == 2


def test_else_if_suggests_elsif() -> None:
    err = syntax_error("<% if a %><% else if b %><% end %>")
    assert "write `<% elsif cond %>`, not `else if`" in err.message


def test_string_templates_keep_their_own_columns() -> None:
    first = Template.from_str("\n   <%= 1 / zero %>")
    Template.from_str("\n<%= a %> <%= b %>")  # same default name, other columns
    with pytest.raises(TemplateRenderError) as info:
        first.render(zero=0)
    assert (info.value.line, info.value.column) == (2, 4)


def test_jinja_errors_in_translated_templates_point_at_the_rum_line() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        Template.from_str("<% block a %><% end %>\n\n  <% block a %>\n<% end %>", name="l.html")
    assert (info.value.template, info.value.line, info.value.column) == ("l.html", 3, 3)
    assert "block 'a' defined twice" in info.value.message


def test_jinja_habits_and_no_op_tags_are_explained() -> None:
    err = syntax_error("<% if a %>x\n<% endif %>")
    assert (err.line, err.column) == (2, 4)
    assert "Rum closes every block with `<% end %>`" in err.message
    assert "write `<% elsif cond %>`" in syntax_error("<% if a %><% elif b %><% end %>").message
    assert "print a value with `<%= ... %>`" in syntax_error("<% title %>").message
