"""The plugin contract: plugin-owned hook specs, declared requirements, one way to call hooks."""

import logging
import sys
import textwrap

import pluggy
import pytest

from rum import App, PluginError, Response, hookimpl, hookspec


def install(site, module, source, entry_points):
    """Install ``module`` the way a distribution would: source plus dist-info entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[rum.plugins]\n{lines}")


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for name in set(sys.modules) - before:
        if name.startswith("contract_"):
            del sys.modules[name]


@pytest.fixture
def greetings(site):
    """A plugin that declares its own hook, and a second plugin that implements it."""
    install(site, "contract_greetings", '''
        from rum import Response, hookimpl, hookspec

        class hookspecs:
            @hookspec
            def greetings_words(self, app):
                """Words to greet with; every plugin may add some."""

        requires = ()

        @hookimpl
        async def rum_request(request):
            if request.path == "/greet":
                words = request.app.plugins.call_list("greetings_words", app=request.app)
                return Response.text(" ".join(words))
    ''', {"greetings": "contract_greetings"})
    install(site, "contract_pirate", '''
        from rum import hookimpl

        requires = ("greetings",)

        @hookimpl
        def greetings_words(app):
            return ["ahoy"]
    ''', {"pirate": "contract_pirate"})
    return site


def project(tmp_path, enabled):
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "Rum.toml").write_text(f"[plugins]\nenabled = {enabled!r}\n".replace("'", '"'))
    return root


async def test_a_plugin_adds_a_hook_spec_that_another_implements(tmp_path, greetings):
    app = App(root=project(tmp_path, ["pirate", "greetings"]))
    response = await app.test_client().get("/greet")
    assert response.text_body() == "ahoy"
    # requirements load first: "greetings" was registered before "pirate"
    names = [info.name for info in app.plugins.describe()]
    assert names.index("greetings") < names.index("pirate")


def test_a_missing_requirement_names_both_plugins_and_the_fix(tmp_path, greetings):
    root = project(tmp_path, ["pirate"])
    with pytest.raises(PluginError) as err:
        App(root=root)
    message = str(err.value)
    assert "'pirate' requires plugin 'greetings'" in message
    assert 'add "greetings" to [plugins] enabled' in message
    assert str(root / "Rum.toml") in message


def test_turbo_without_websockets_is_a_start_up_error_that_says_what_to_add(tmp_path):
    root = project(tmp_path, ["http", "turbo"])
    with pytest.raises(PluginError) as err:
        App(root=root)
    assert "'turbo' requires plugin 'websockets'" in str(err.value)
    assert 'add "websockets" to [plugins] enabled' in str(err.value)


def test_an_implementation_of_an_undeclared_hook_is_refused_with_a_suggestion(tmp_path):
    class Typo:
        name = "typo"

        @hookimpl
        async def rum_reqeust(self, request):
            return None

    with pytest.raises(PluginError, match=r"'rum_reqeust'.*did you mean 'rum_request'"):
        App(root=project(tmp_path, []), plugins=[Typo()])


def test_an_optional_implementation_of_a_missing_plugins_hook_is_allowed(tmp_path):
    class Optional:
        name = "optional"

        @hookimpl(optionalhook=True)
        def some_other_plugins_hook(self, app):
            return 1

    App(root=project(tmp_path, []), plugins=[Optional()])


class Recorder:
    def __init__(self, name, events, **marks):
        self.name = name
        self.events = events

        async def rum_request(request):
            events.append(name)

        self.rum_request = hookimpl(**marks)(rum_request)


async def test_async_hooks_honour_tryfirst_and_trylast(tmp_path):
    events = []
    plugins = [Recorder("late", events, trylast=True), Recorder("plain", events),
               Recorder("early", events, tryfirst=True)]
    app = App(root=project(tmp_path, []), plugins=plugins)
    await app.test_client().get("/nowhere")
    assert events == ["early", "plain", "late"]
    events.clear()
    await app.plugins.acall("rum_request", request=None)
    assert events == ["early", "plain", "late"]


async def test_a_wrapper_of_an_async_hook_runs_around_it(tmp_path):
    seen = []

    class Wrapper:
        name = "wrapper"

        @hookimpl(wrapper=True)
        def rum_request(self, request):
            seen.append("before")
            awaitables = yield
            seen.append(f"after {len(awaitables)} awaitable(s)")
            return awaitables

    class Answer:
        name = "answer"

        @hookimpl
        async def rum_request(self, request):
            seen.append("answer")
            return Response.text("wrapped")

    app = App(root=project(tmp_path, []), plugins=[Answer(), Wrapper()])
    response = await app.test_client().get("/x")
    assert response.text_body() == "wrapped"
    assert seen == ["before", "after 1 awaitable(s)", "answer"]


async def test_tracing_logs_each_hook_with_its_implementers(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RUM_TRACE_HOOKS", "1")
    events = []
    app = App(root=project(tmp_path, []), plugins=[Recorder("plain", events)])
    with caplog.at_level(logging.INFO, logger="rum.hooks"):
        await app.test_client().get("/x")
        app.plugins.call("rum_routes", app=app)
    lines = [r.getMessage() for r in caplog.records if r.name == "rum.hooks"]
    assert any(line.startswith("hook rum_request [plain]") for line in lines), lines
    assert any(line.startswith("hook rum_routes [") and "rum" in line for line in lines), lines


def test_a_deprecated_hook_warns_its_implementers(tmp_path):
    class Specs:
        @hookspec(warn_on_impl=DeprecationWarning("old_hook is deprecated: use new_hook"))
        def old_hook(self, app):
            """Deprecated."""

    class Declares:
        name = "declares"
        hookspecs = Specs

    class UsesOld:
        name = "uses_old"

        @hookimpl
        def old_hook(self, app):
            return 1

    with pytest.warns(DeprecationWarning, match="use new_hook"):
        App(root=project(tmp_path, []), plugins=[Declares(), UsesOld()])


def test_clashing_hook_specs_are_refused(tmp_path):
    class Specs:
        @hookspec
        def rum_request(self, request):
            """Clashes with the kernel's."""

    class Clash:
        name = "clash"
        hookspecs = Specs

    with pytest.raises(PluginError, match="clash"):
        App(root=project(tmp_path, []), plugins=[Clash()])


def test_pluggy_is_the_hook_machinery():
    app_plugins = App(root=None, plugins=[]).plugins
    assert isinstance(app_plugins.pm, pluggy.PluginManager)


@pytest.mark.parametrize("old, new, plugin", [
    ("log_queries", ("database", "log_queries"), "orm"),
    ("cache_templates", ("templates", "cache"), "templates"),
])
def test_renamed_settings_keep_working_for_a_release_with_a_warning(tmp_path, old, new, plugin):
    root = project(tmp_path, [plugin])
    with (root / "Rum.toml").open("a") as toml:
        toml.write(f"[general]\n{old} = true\n")
    with pytest.warns(DeprecationWarning) as caught:
        app = App(root=root)
    message = str(caught[0].message)
    assert f"[general] {old} is deprecated" in message and f"use [{new[0]}] {new[1]}" in message
    assert message.startswith("Rum.toml: ")
    assert app.config.get(*new) is True


def test_rum_plugins_hooks_prints_each_hook_in_calling_order(tmp_path, monkeypatch, capsys):
    from rum.cli import main

    root = project(tmp_path, ["http", "templates"])
    monkeypatch.chdir(root)
    assert main(["plugins", "--hooks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "rum_serve: http" in lines
    schema = next(line for line in lines if line.startswith("rum_config_schema: "))
    # last registered first: the kernel's own plugin ("rum") was registered first
    assert schema.endswith(" -> rum") and "templates" in schema and "http" in schema
    assert "rum_startup: (no implementation)" in lines


async def test_the_shipped_services_meet_the_kernels_protocols(tmp_path, database_url):
    from rum import JobBackend, Storage

    root = project(tmp_path, ["orm", "jobs"])
    with (root / "Rum.toml").open("a") as toml:
        toml.write(f'[database]\nurl = "{database_url}"\n')
    app = App(root=root)
    assert isinstance(app.storage, Storage)
    assert isinstance(app.jobs, JobBackend)
    async with app.running():
        assert await app.storage.fetchval("SELECT 41 + 1") == 42


async def test_tracing_keeps_sync_hooks_sync_on_the_render_path(tmp_path, monkeypatch, caplog):
    from rum import Controller

    monkeypatch.setenv("RUM_TRACE_HOOKS", "1")
    root = project(tmp_path, ["templates"])
    (root / "templates").mkdir()
    (root / "templates" / "page.html").write_text("<%= site %>")

    class Site:
        name = "site"

        @hookimpl
        def rum_template_globals(self, app, request):
            return {"site": "Rum"}

    class Page(Controller):
        async def get(self, request):
            return await self.render("page.html")

    app = App([Page.route("/")], root=root, plugins=[Site()])
    with caplog.at_level(logging.INFO, logger="rum.hooks"):
        response = await app.test_client().get("/")
    assert response.text_body() == "Rum"
    lines = [r.getMessage() for r in caplog.records if r.name == "rum.hooks"]
    assert any(line.startswith("hook rum_template_globals [site]") for line in lines), lines
