"""Plugin discovery through entry points, enabling from Rum.toml, and every hook kind."""

import subprocess
import sys
import textwrap

import pytest
import trio

from rum import App, Controller, PluginError, Response, Setting, hookimpl
from rum.cli import Command


@pytest.fixture
def entry_point_plugin(tmp_path, monkeypatch):
    """Install a plugin the way a distribution would: a module plus dist-info entry points."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "rum_testplugin.py").write_text(textwrap.dedent('''
        from rum import Response, Setting, hookimpl

        @hookimpl
        def rum_config_schema():
            return {"greeter": {"greeting": Setting("hello", str, "what to say")}}

        @hookimpl
        def rum_configure(config, app):
            app.extensions["greeting"] = config.get_str("greeter", "greeting")

        @hookimpl
        async def rum_request(request):
            if request.path == "/greet":
                return Response.text(request.app.extensions["greeting"])
    '''))
    dist = site / "rum_testplugin-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rum-testplugin\n"
                                   "Version: 1.2.3\n")
    (dist / "entry_points.txt").write_text("[rum.plugins]\ngreeter = rum_testplugin\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("rum_testplugin", None)


async def test_entry_point_plugin_is_discovered_enabled_and_configured(tmp_path,
                                                                       entry_point_plugin):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Rum.toml").write_text('[plugins]\nenabled = ["greeter"]\n'
                                      '[greeter]\ngreeting = "ahoy"\n')
    app = App(root=project)
    info = {i.name: i for i in app.plugins.describe()}["greeter"]
    assert info.distribution == "rum-testplugin" and info.version == "1.2.3"
    assert "rum_request" in info.hooks and "rum_config_schema" in info.hooks
    r = await app.test_client().get("/greet")
    assert r.text_body() == "ahoy"


def test_enabled_but_missing_plugin_names_it_and_the_file(tmp_path):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["greeterr"]\n')
    with pytest.raises(PluginError) as err:
        App(root=tmp_path)
    assert "'greeterr' is enabled but not installed" in str(err.value)
    assert str(tmp_path / "Rum.toml") in str(err.value)


def test_per_plugin_table_disables(tmp_path, entry_point_plugin):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["greeter"]\n'
                                       '[plugins.greeter]\nenabled = false\n'
                                       '[greeter]\ngreeting = "x"\n')
    app = App(root=tmp_path)
    assert "greeter" not in {i.name for i in app.plugins.describe()}


class EveryHook:
    """A test plugin passed in code that touches every hook kind."""

    def __init__(self):
        self.events = []

    @hookimpl
    def rum_config_schema(self):
        return {"every": {"word": Setting("bird", str)}}

    @hookimpl
    def rum_configure(self, config, app):
        self.events.append(("configure", config.get("every", "word")))

    @hookimpl
    def rum_routes(self, app):
        class FromPlugin(Controller):
            async def get(self, request):
                return Response.text(f"user={request.user}")

        return [FromPlugin.route("/plugin")]

    @hookimpl
    def rum_middleware(self, app):
        from rum import Middleware

        class Stamp(Middleware):
            async def handle_response(self, request, response):
                response.headers["x-stamp"] = "1"
                return response

        return [Stamp()]

    @hookimpl
    def rum_auth_handlers(self, app):
        from rum import Authentication

        class Nobody(Authentication):
            async def authorize(self, request):
                return False

        return {"nobody": Nobody}

    @hookimpl
    async def rum_request(self, request):
        if request.path == "/short":
            return Response.text("short-circuit")
        return None

    @hookimpl
    async def rum_authenticate(self, request):
        return request.headers.get("x-user")

    @hookimpl
    async def rum_exception(self, request, exc):
        if isinstance(exc, KeyError):
            return Response.text(f"missing {exc}", 400)
        return None

    @hookimpl
    async def rum_response(self, request, response):
        response.headers["x-rewritten"] = "yes"

    @hookimpl
    def rum_storage(self, app):
        return "fake-storage"

    @hookimpl
    def rum_job_backend(self, app):
        return "fake-jobs"

    @hookimpl
    async def rum_startup(self, app):
        self.events.append("startup")

    @hookimpl
    def rum_schedule(self, app):
        async def ticker():
            self.events.append("tick")
            await trio.sleep_forever()

        return [ticker]

    @hookimpl
    async def rum_shutdown(self, app):
        self.events.append("shutdown")

    @hookimpl
    def rum_cli_commands(self, app):
        return [Command("hello", "say hello", lambda args, app: print("hello") or 0)]

    @hookimpl(optionalhook=True)  # the templates plugin's hook (not enabled here)
    def rum_template_globals(self, app, request):
        return {"site": "Rum"}


async def test_a_plugin_in_code_changes_handling_through_each_hook(tmp_path):
    class Secret(Controller):
        def auth(self):
            return "nobody"

        async def get(self, request):
            return Response.text("secret")

    class Missing(Controller):
        async def get(self, request):
            raise KeyError("thing")

    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = []\n[every]\nword = "fish"\n')
    plugin = EveryHook()
    app = App([Secret.route("/secret"), Missing.route("/missing")], plugins=[plugin],
              root=tmp_path)
    assert plugin.events == [("configure", "fish")]
    async with app.test_client() as client:
        await trio.sleep(0.01)
        r = await client.get("/plugin", headers={"x-user": "ann"})
        assert (r.text_body(), r.headers["x-stamp"], r.headers["x-rewritten"]) == (
            "user=ann", "1", "yes")
        r = await client.get("/short")
        assert r.text_body() == "short-circuit" and r.headers["x-rewritten"] == "yes"
        assert (await client.get("/secret")).status == 403
        r = await client.get("/missing")
        assert r.status == 400 and "missing 'thing'" in r.text_body()
        assert app.storage == "fake-storage" and app.jobs == "fake-jobs"
        assert app.plugins.call_merged("rum_template_globals", app=app, request=None) == {
            "site": "Rum"}
    assert plugin.events == [("configure", "fish"), "startup", "tick", "shutdown"]


def test_storage_without_plugin_is_a_clear_error(tmp_path):
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    app = App(root=tmp_path)
    with pytest.raises(Exception, match='add "orm" to \\[plugins\\] enabled'):
        app.storage  # noqa: B018


def test_plugin_with_bad_hook_signature_is_refused(tmp_path):
    class Bad:
        @hookimpl
        def rum_routes(self, app, nonsense):
            return []

    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    with pytest.raises(PluginError, match="does not match Rum's hook specs"):
        App(plugins=[Bad()], root=tmp_path)


def test_cli_lists_plugins_routes_config_and_plugin_commands(tmp_path, entry_point_plugin):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["greeter"]\n'
                                       '[greeter]\ngreeting = "yo"\n')
    (tmp_path / "app.py").write_text(textwrap.dedent('''
        from rum import App, Controller, Response

        class Index(Controller):
            async def get(self, request):
                return Response.html("<h1>Hey Rum!</h1>")

        app = App(routes=[Index.route("/", name="index")])
    '''))
    env = {"PYTHONPATH": str(entry_point_plugin), "PATH": "/usr/bin:/bin"}

    def rum(*args):
        import os

        return subprocess.run([sys.executable, "-m", "rum.cli", *args], cwd=tmp_path,
                              capture_output=True, text=True, env={**os.environ, **env},
                              timeout=60)

    out = rum("plugins")
    assert out.returncode == 0, out.stderr
    assert "greeter  (rum_testplugin; rum-testplugin 1.2.3)" in out.stdout
    assert "    rum_request" in out.stdout
    out = rum("routes")
    assert "/" in out.stdout and "Index" in out.stdout and "name=index" in out.stdout
    out = rum("config")
    assert 'greeting = "yo"' in out.stdout and "[general]" in out.stdout
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["greeter"]\n'
                                       '[greeter]\ngreting = "yo"\n')
    out = rum("routes")
    assert out.returncode == 1
    assert "unknown key 'greting' in [greeter]; did you mean 'greeting'?" in out.stderr


def test_cli_turns_an_interrupt_group_into_exit_130(tmp_path, monkeypatch):
    from rum import cli

    def interrupted(args, app):
        raise BaseExceptionGroup("stopping", [KeyboardInterrupt(), KeyboardInterrupt()])

    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    monkeypatch.setattr(cli, "KERNEL_COMMANDS",
                        [Command("boom", "interrupt", interrupted, needs_app=False)])
    assert cli.main(["--root", str(tmp_path), "boom"]) == 130
