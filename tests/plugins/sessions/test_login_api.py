"""Login and logout belong to the sessions plugin: ``rum_sessions.login/logout`` and the seed
framework's ``request.login()``/``request.logout()``, which the plugin adds to Request."""

from rum import App, Controller, Request
from rum_sessions import login


class Login(Controller):
    csrf_exempt = True

    async def post(self, request):
        return await login(request, 7)


async def test_login_in_an_app_without_sessions_says_what_to_enable(tmp_path):
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    app = App([Login.route("/login")], root=tmp_path)
    r = await app.test_client().post("/login", headers={"accept": "text/plain"})
    assert r.status == 500
    assert "login() needs the sessions plugin" in r.text_body()
    assert "to [plugins] enabled" in r.text_body()


async def test_the_plugin_adds_the_seed_frameworks_request_methods(tmp_path):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["sessions"]\n'
                                       '[general]\nsecret_key = "' + "ab" * 32 + '"\n')

    class Who(Controller):
        async def get(self, request):
            from rum import Response

            return Response.text(str(request.session.user_id))

    class SeedLogin(Controller):
        csrf_exempt = True

        async def post(self, request):
            return await request.login(42)

    app = App([SeedLogin.route("/login"), Who.route("/who")], root=tmp_path)
    assert callable(Request.login) and callable(Request.logout)
    async with app.test_client() as client:
        assert (await client.post("/login")).status == 200
        assert (await client.get("/who")).text_body() == "42"
