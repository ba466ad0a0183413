"""File templates: lookup, caching per environment, layouts, partials, native Jinja2."""

from __future__ import annotations

from pathlib import Path

import pytest

from rum import App
from rum_templates import Template, TemplateNotFound, TemplateRenderError, TemplateSyntaxError


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def make_app(rum_app_factory, tmp_path):
    def make(toml: str = "", **kw):
        return rum_app_factory(plugins=["templates"], toml=toml, **kw)

    return make


async def test_cached_is_relative_to_the_app_root(make_app, tmp_path) -> None:
    write(tmp_path, "templates/index.html", "<p>Hi <%= name %></p>")
    app = make_app()
    async with app.running():
        template = await Template.cached("templates/index.html")
        assert template.render({"name": "<Ann>"}) == "<p>Hi &lt;Ann&gt;</p>"
        assert app.extensions["templates"].render("index.html", {"name": "B"}) == "<p>Hi B</p>"


async def test_cached_without_an_app_uses_the_working_directory(tmp_path, monkeypatch) -> None:
    write(tmp_path, "templates/index.html", "<%= 1 + 1 %>")
    monkeypatch.chdir(tmp_path)
    assert (await Template.cached("templates/index.html")).render() == "2"


async def test_development_recompiles_after_an_edit(make_app, tmp_path) -> None:
    path = write(tmp_path, "templates/page.html", "v1 <%= x %>")
    app = make_app()  # env defaults to development: [templates] cache unset -> false
    engine = app.extensions["templates"]
    assert engine.cache is False
    async with app.running():
        assert (await Template.cached("templates/page.html")).render(x=1) == "v1 1"
        path.write_text("v2 <%= x %>")  # same size, same second: still seen
        assert (await Template.cached("templates/page.html")).render(x=1) == "v2 1"
        assert engine.render("page.html", {"x": 2}) == "v2 2"


async def test_production_compiles_once_and_keeps_it(make_app, tmp_path) -> None:
    path = write(tmp_path, "templates/page.html", "v1 <%= x %>")
    app = make_app(env="production")
    engine = app.extensions["templates"]
    assert engine.cache is True
    async with app.running():
        first = await Template.cached("templates/page.html")
        assert engine.render("page.html", {"x": 1}) == "v1 1"
        path.write_text("v2 <%= x %>")
        assert (await Template.cached("templates/page.html")).render(x=1) == "v1 1"
        assert engine.render("page.html", {"x": 1}) == "v1 1"
        assert engine.get("page.html") is engine.get("page.html")
        assert first.render(x=3) == "v1 3"


async def test_templates_cache_setting_wins_over_the_environment(make_app) -> None:
    app = make_app(toml="[templates]\ncache = true\n")
    assert app.config.env == "development"
    assert app.extensions["templates"].cache is True
    app = make_app(toml="[templates]\ncache = false\n", env="production")
    assert app.extensions["templates"].cache is False


async def test_layout_with_blocks_and_yield(make_app, tmp_path) -> None:
    write(tmp_path, "templates/layout.html",
          "<title><%= yield :title %></title>\n<main><%= yield %></main>\n")
    write(tmp_path, "templates/page.html",
          "<% extends \"layout.html\" %>\n<% content_for :title %>Users<% end %>\n"
          "<% block content %><% for u in users %><%= u %>;<% end %><% end %>\n")
    app = make_app()
    out = app.extensions["templates"].render("page.html", {"users": ["a", "<b>"]})
    assert out == "<title>Users</title>\n<main>a;&lt;b&gt;;</main>\n"


async def test_partials_with_locals_inside_a_loop(make_app, tmp_path) -> None:
    write(tmp_path, "templates/_user.html", "<li><%= user.upcase %> of <%= total %></li>")
    write(tmp_path, "templates/list.html",
          "<% for u in users %><%= render \"_user.html\", user: u %><% end %>"
          "<%- render(\"_user.html\", user: \"z\") %>")
    app = make_app()
    out = app.extensions["templates"].render("list.html", {"users": ["a", "b"], "total": 2})
    assert out == "<li>A of 2</li><li>B of 2</li><li>Z of 2</li>"


async def test_native_jinja_and_rum_include_each_other(make_app, tmp_path) -> None:
    write(tmp_path, "templates/base.html.j2",
          "<body>{% block content %}{% endblock %}{% include 'footer.html' %}</body>")
    write(tmp_path, "templates/footer.html", "<footer><%= year %></footer>")
    write(tmp_path, "templates/home.html",
          "<% extends \"base.html.j2\" %><% block content %><%= msg %><% end %>")
    app = make_app()
    engine = app.extensions["templates"]
    assert engine.render("home.html", {"msg": "<hi>", "year": 2026}) == \
        "<body>&lt;hi&gt;<footer>2026</footer></body>"
    assert engine.render("base.html.j2", {"year": 1}) == "<body><footer>1</footer></body>"


async def test_extra_paths_and_path_setting(make_app, tmp_path) -> None:
    write(tmp_path, "views/a.html", "A<%= render \"b.html\" %>")
    write(tmp_path, "shared/b.html", "B")
    app = make_app(toml='[templates]\npath = "views"\nextra_paths = ["shared"]\n')
    assert app.extensions["templates"].render("a.html") == "AB"


async def test_missing_template_names_dirs_and_suggests(make_app, tmp_path) -> None:
    write(tmp_path, "templates/index.html", "x")
    app = make_app()
    with pytest.raises(TemplateNotFound) as info:
        app.extensions["templates"].render("indx.html")
    assert "template 'indx.html' not found in" in str(info.value)
    assert str(tmp_path / "templates") in str(info.value)
    assert "did you mean 'index.html'?" in str(info.value)


async def test_missing_partial_is_located_in_the_including_template(make_app, tmp_path) -> None:
    write(tmp_path, "templates/page.html", "line\n<%= render \"nope.html\" %>")
    app = make_app()
    with pytest.raises(TemplateRenderError) as info:
        app.extensions["templates"].render("page.html")
    assert (info.value.template, info.value.line) == ("page.html", 2)
    assert "'nope.html' not found" in info.value.message


async def test_syntax_error_in_a_file_names_the_file(make_app, tmp_path) -> None:
    write(tmp_path, "templates/broken.html", "<% if x %>\n<% for y in z %>\n<% end %>\n")
    write(tmp_path, "templates/uses.html", "<%= render \"broken.html\" %>")
    app = make_app()
    with pytest.raises(TemplateSyntaxError) as info:
        app.extensions["templates"].render("uses.html")
    assert str(info.value).startswith("broken.html:1:4: `<% end %>` missing for `if`")


async def test_render_error_in_a_partial_names_the_partial(make_app, tmp_path) -> None:
    write(tmp_path, "templates/part.html", "ok\n\n<%= 1 / 0 %>")
    write(tmp_path, "templates/main.html", "<%= render \"part.html\" %>")
    app = make_app()
    with pytest.raises(TemplateRenderError) as info:
        app.extensions["templates"].render("main.html")
    assert (info.value.template, info.value.line) == ("part.html", 3)


async def test_non_html_templates_are_not_escaped(make_app, tmp_path) -> None:
    write(tmp_path, "templates/site.css", "a { color: <%= color %>; }\n")
    write(tmp_path, "templates/app.js", "const name = <%= name.to_json %>;\n")
    app = make_app()
    engine = app.extensions["templates"]
    assert engine.render("site.css", {"color": "#a&b"}) == "a { color: #a&b; }\n"
    assert engine.render("app.js", {"name": "O'Neil</script>"}) == \
        'const name = "O\\u0027Neil\\u003c/script\\u003e";\n'


def test_two_apps_do_not_share_templates(tmp_path) -> None:
    for name in ("one", "two"):
        write(tmp_path / name, "templates/x.html", name)
    apps = [App(plugins=["templates"], root=tmp_path / n) for n in ("one", "two")]
    assert [a.extensions["templates"].render("x.html") for a in apps] == ["one", "two"]


async def test_development_sees_edits_of_settled_files_and_partials(make_app, tmp_path) -> None:
    import os

    page = write(tmp_path, "templates/page.html", "<%= render \"part.html\" %>")
    part = write(tmp_path, "templates/part.html", "old")
    for path in (page, part):  # last modified an hour ago: the timestamp check is trusted
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 3600 * 10**9))
    engine = make_app().extensions["templates"]
    assert engine.render("page.html") == "old"
    assert engine.render("page.html") == "old"
    part.write_text("new")
    assert engine.render("page.html") == "new"


async def test_layout_statement_wraps_the_page_body(make_app, tmp_path) -> None:
    write(tmp_path, "templates/layout.html",
          "<title><%= yield :title %></title><main><%= yield %></main>")
    write(tmp_path, "templates/page.html",
          "<% layout \"layout.html\" %>\n<% content_for :title %>Users<% end %>\n"
          "<% for u in users %>\n<p><%= u %></p>\n<% end %>\n<%# end of page %>\n")
    engine = make_app().extensions["templates"]
    assert engine.render("page.html", {"users": ["a", "<b>"]}) == \
        "<title>Users</title><main>\n<p>a</p>\n<p>&lt;b&gt;</p>\n</main>"


async def test_layout_must_come_first(make_app, tmp_path) -> None:
    write(tmp_path, "templates/page.html", "<p>hi</p>\n<% layout \"layout.html\" %>")
    with pytest.raises(TemplateSyntaxError, match="`layout` must come first"):
        make_app().extensions["templates"].render("page.html")


async def test_names_cannot_leave_the_template_directories(make_app, tmp_path) -> None:
    write(tmp_path, "secret.txt", "s3cret")
    engine = make_app().extensions["templates"]
    with pytest.raises(TemplateNotFound, match=r"without '\.\.'"):
        engine.render("../secret.txt")


async def test_nil_as_empty_setting(make_app, tmp_path) -> None:
    write(tmp_path, "templates/nil.html", "[<%= nothing %>][<%= zero %>][<%= empty %>]")
    context = {"nothing": None, "zero": 0, "empty": ""}
    # Ruby semantics (the default): nil prints nothing, like ERB.
    assert make_app().extensions["templates"].render("nil.html", context) == "[][0][]"
    python = make_app(toml="[templates]\nsemantics = \"python\"\n")
    assert python.extensions["templates"].render("nil.html", context) == "[None][0][]"
    app = make_app(toml="[templates]\nsemantics = \"python\"\nnil_as_empty = true\n")
    assert app.extensions["templates"].render("nil.html", context) == "[][0][]"


async def test_render_a_collection(make_app, tmp_path) -> None:
    write(tmp_path, "templates/users/_user.html", "<li><%= user %><%= sep %></li>")
    write(tmp_path, "templates/list.html",
          "<%= render \"users/_user.html\", collection: names, sep: \"!\" %>|"
          "<%= render(\"users/_user.html\", collection: [1, 2], as: :user, sep: \".\") %>")
    engine = make_app().extensions["templates"]
    assert engine.render("list.html", {"names": ["a", "<b>"]}) == \
        "<li>a!</li><li>&lt;b&gt;!</li>|<li>1.</li><li>2.</li>"


def test_collection_errors() -> None:
    from rum_templates import Template as T

    with pytest.raises(TemplateSyntaxError, match="add `as: :item`"):
        T.from_str("<%= render name, collection: xs %>")
    with pytest.raises(TemplateSyntaxError, match="names the item of a `collection:`"):
        T.from_str("<%= render \"a.html\", as: :x %>")
