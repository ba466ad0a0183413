"""The ``rum.testing`` pytest plugin's app and client fixtures, as a user's project uses them."""

import textwrap

import pytest


@pytest.fixture
def rum_project_root(tmp_path, monkeypatch):
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    (tmp_path / "fixture_app.py").write_text(textwrap.dedent('''
        from rum import App, Controller, Response, hookimpl

        class Index(Controller):
            async def get(self, request):
                return Response.html("<h1>Hey Rum!</h1>")

        class Started:
            @hookimpl
            async def rum_startup(self, app):
                app.extensions["started"] = True

        app = App(routes=[Index.route("/")], plugins=[Started()])
    '''))
    with open(tmp_path / "Rum.toml", "a") as f:
        f.write('[general]\napp = "fixture_app:app"\n')
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    import sys

    sys.modules.pop("fixture_app", None)


async def test_rum_client_talks_to_the_running_project_app(rum_client, rum_app):
    response = await rum_client.get("/")
    assert response.status == 200 and response.text_body() == "<h1>Hey Rum!</h1>"
    assert rum_app.extensions["started"] is True
