"""The deployment files ``rum new app`` writes (Dockerfile, Procfile, deploy/: systemd units,
environment file, nginx and PgBouncer configurations; their templates are in
``plugins/rum_scaffold/templates/app/``) and docs/deployment.md: every ``rum`` command they run
parses with the real command line; the systemd units pass ``systemd-analyze verify``; the
image is multi-stage, non-root and checks the real probe path; the PgBouncer configuration
runs with the installed PgBouncer and serves queries. nginx is tested in
tests/scale/test_nginx.py."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rum import App
from rum.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "deployment.md"


def _generated_project() -> Path:
    """``rum new app shop`` in a temporary directory (the files every test here reads)."""
    from rum_scaffold.scaffold import generate

    target = Path(tempfile.mkdtemp(prefix="rum-deploy-")) / "shop"
    generate("app", "shop", target)
    return target


PROJECT = _generated_project()
DEPLOY = PROJECT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def teardown_module() -> None:
    shutil.rmtree(PROJECT.parent, ignore_errors=True)


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def container_instructions() -> list[tuple[str, str]]:
    text = (PROJECT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def rum_commands() -> list[tuple[str, list[str]]]:
    """Every ``rum ...`` command line the templates and the guide run: (where, argv)."""
    found: list[tuple[str, list[str]]] = []
    for path in UNITS:
        for key in ("ExecStart", "ExecStartPre", "ExecStartPost"):
            value = unit(path)["Service"].get(key)
            if value:
                found.append((f"{path.name} {key}", shlex.split(value)))
    for keyword, rest in container_instructions():
        if keyword == "CMD" and rest.startswith("["):
            found.append(("Dockerfile CMD", json.loads(rest)))
    for line in (PROJECT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        found.append((f"Procfile {name}", shlex.split(command.replace("${PORT:-8000}", "8000"))))
    for match in re.finditer(r"```console\n(.*?)```", GUIDE.read_text(), re.S):
        for line in match.group(1).splitlines():
            command = line.removeprefix("$ ").removeprefix("sudo ")
            if "rum " in command and not command.startswith(("docker", "install", "cp")):
                found.append(("docs/deployment.md", shlex.split(command)))
            elif command.startswith("docker run") and " shop rum " in command:
                found.append(("docs/deployment.md", shlex.split(command.split(" shop ", 1)[1])))
    return [(where, argv) for where, argv in found if Path(argv[0]).name == "rum"]


def test_rum_new_app_writes_the_deployment_files() -> None:
    files = {p.relative_to(PROJECT).as_posix() for p in PROJECT.rglob("*") if p.is_file()}
    assert files >= {"Dockerfile", ".dockerignore", "Procfile", "deploy/app.env.example",
                     "deploy/nginx.conf", "deploy/pgbouncer.ini", "deploy/shop-web.service",
                     "deploy/shop-worker.service", "deploy/shop-migrate.service"}
    procfile = dict(line.split(": ", 1) for line in (PROJECT / "Procfile").read_text()
                    .splitlines())
    assert set(procfile) == {"release", "web", "worker"}
    assert procfile["release"] == "rum migrate run"
    # the secrets stay out of the image
    assert "deploy/app.env" in (PROJECT / ".dockerignore").read_text().splitlines()


def test_every_rum_command_parses() -> None:
    # the generated app's plugins, and jobs (`rum worker` needs it; `rum generate job` adds it)
    import tomllib

    enabled = tomllib.loads((PROJECT / "Rum.toml").read_text())["plugins"]["enabled"]
    assert "jobs" in (PROJECT / "Dockerfile").read_text()
    app = App([], plugins=[*enabled, "jobs"], root=PROJECT)
    commands = rum_commands()
    # the web, worker and migrate commands of each kind of template, and the guide's
    assert {where.split()[0] for where, _ in commands} >= {
        "shop-web.service", "shop-worker.service", "shop-migrate.service", "Dockerfile",
        "Procfile", "docs/deployment.md"}
    for where, argv in commands:
        parser, known = build_parser(app)
        try:
            args = parser.parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"{where}: {shlex.join(argv)} does not parse")
        assert args.command in known, (where, argv)
    used = {argv[1] if not argv[1].startswith("-") else argv[3] for _, argv in commands}
    assert used >= {"run", "worker", "migrate"}


def test_the_units_verify_with_systemd(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    rum = shutil.which("rum")
    assert rum is not None
    env = tmp_path / "app.env"
    env.write_text((DEPLOY / "app.env.example").read_text())
    user = pwd.getpwuid(os.getuid()).pw_name
    for path in UNITS:
        text = path.read_text().replace("/srv/shop/venv/bin/rum", rum)
        text = text.replace("/etc/shop/app.env", str(env))
        text = re.sub(r"^(User|Group)=shop$", rf"\1={user}", text, flags=re.M)
        local = tmp_path / path.name
        local.write_text(text)
        result = subprocess.run([analyze, "verify", str(local)], capture_output=True,
                                text=True, timeout=60)
        problems = [line for line in (result.stdout + result.stderr).splitlines()
                    if path.name in line]
        assert result.returncode == 0 and not problems, (path.name, result.stderr)
        service = unit(path)["Service"]
        assert service["EnvironmentFile"] == "/etc/shop/app.env"
        assert "RUM_ENV=production" in service["Environment"]


def test_the_image_is_multi_stage_non_root_and_probes_the_health_path() -> None:
    from rum_http.settings import SCHEMA

    instructions = container_instructions()
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(froms) == 2 and " AS build" in froms[0]
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert "RUM_ENV=production" in env
    health = next(rest for keyword, rest in instructions if keyword == "HEALTHCHECK")
    assert SCHEMA["health_path"].default in health
    assert "8000" in next(rest for keyword, rest in instructions if keyword == "EXPOSE")


def test_the_image_installs_the_projects_dependencies() -> None:
    """The build stage's dependency list, computed as the Dockerfile computes it, is the
    generated project's (the project is not built as a package: its flat layout of modules
    and data directories is not one)."""
    run = next(rest for keyword, rest in container_instructions()
               if keyword == "RUN" and "tomllib" in rest)
    command = shlex.split(run.split(">", 1)[0])
    assert command[:2] == ["python", "-c"]
    result = subprocess.run([sys.executable, "-c", command[2]], cwd=PROJECT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["rum"]
    assert ("COPY", "--chown=rum:rum . /app") in container_instructions()


def test_the_env_file_sets_settings_the_app_knows(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    values = dict(line.split("=", 1) for line in (DEPLOY / "app.env.example").read_text()
                  .splitlines() if line and not line.startswith("#"))
    assert {"RUM_ENV", "DATABASE_URL", "DATABASE_DIRECT_URL", "RUM_GENERAL__SECRET_KEY"} <= set(
        values)
    assert values["RUM_GENERAL__SECRET_KEY"] == "CHANGE-ME"  # a placeholder, never a key
    values["RUM_GENERAL__SECRET_KEY"] = secrets.token_hex(32)  # what `rum secret-key` prints
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    app = App([], plugins=["http", "orm", "sessions"], root=tmp_path)
    assert app.config.env == "production"
    assert app.config.get_list("http", "trusted_proxies") == ["127.0.0.1"]
    assert app.config.get_int("database", "statement_cache_size") == 0
    assert app.config.get_str("general", "secret_key") == values["RUM_GENERAL__SECRET_KEY"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.postgres
def test_the_pgbouncer_template_runs_and_pools(postgres_url: str, database_url: str) -> None:
    from urllib.parse import urlsplit

    from rum_orm.pgbouncer import PgBouncerUnavailable, pgbouncer_binary, pgbouncer_version

    try:
        binary = pgbouncer_binary()
    except PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    server, db = urlsplit(postgres_url), urlsplit(database_url)
    work = Path(tempfile.mkdtemp(prefix="rum-pgb-template-"))
    port = _free_port()
    text = (DEPLOY / "pgbouncer.ini").read_text()
    if pgbouncer_version(binary)[:2] >= (1, 21):
        text = text.replace(";max_prepared_statements", "max_prepared_statements")
    target = f"host={server.hostname} port={server.port or 5432} dbname={db.path[1:]}"
    if server.password:
        target += f" password={server.password}"
    changes = {"shop": target, "listen_port": str(port), "auth_type": "trust",
               "auth_file": str(work / "users.txt"), "logfile": str(work / "log"),
               "pidfile": str(work / "pid")}
    for key, value in changes.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        assert count == 1, key
    if os.geteuid() == 0:
        text += "user = nobody\n"
        os.chown(work, pwd.getpwnam("nobody").pw_uid, -1)
    user = server.username or "postgres"
    (work / "users.txt").write_text(f'"{user}" ""\n')
    (work / "pgbouncer.ini").write_text(text)
    for f in work.iterdir():
        f.chmod(0o644)
    process = subprocess.Popen([binary, str(work / "pgbouncer.ini")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, (work / "log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "pgbouncer did not listen"
                time.sleep(0.05)

        async def use() -> list[int]:
            import asyncpg

            url = f"postgresql://{user}@127.0.0.1:{port}/shop"
            pool = await asyncpg.create_pool(url, min_size=4, max_size=4,
                                             statement_cache_size=0)
            try:
                pids = await asyncio.gather(*(pool.fetchval("SELECT pg_backend_pid()")
                                              for _ in range(20)))
                assert await pool.fetchval("SELECT current_database()") == db.path[1:]
                return list(pids)
            finally:
                await pool.close()

        assert len(asyncio.run(use())) == 20
        assert "pool_mode = transaction" in text
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def test_deploy_md_shows_the_nginx_configuration_rum_new_app_writes() -> None:
    topology = (REPO / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", topology, re.S)
    assert blocks == [(DEPLOY / "nginx.conf").read_text()]
    assert "tests/scale/test_nginx.py" in topology and (
        REPO / "tests" / "scale" / "test_nginx.py").exists()
