"""``rum templates check`` / ``show`` on a real project directory."""

from __future__ import annotations

from pathlib import Path

from rum.cli import main


def project(root: Path, templates: dict[str, str]) -> None:
    (root / "Rum.toml").write_text('[plugins]\nenabled = ["templates"]\n')
    for name, text in templates.items():
        path = root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_check_reports_every_broken_template(tmp_path, monkeypatch, capsys) -> None:
    project(tmp_path, {"ok.html": "<%= 1 %>", "bad/one.html": "x\n<% if a %>",
                       "two.j2": "{% for %}"})
    monkeypatch.chdir(tmp_path)
    assert main(["templates", "check"]) == 1
    out = capsys.readouterr().out
    assert "bad/one.html:2:4: `<% end %>` missing for `if` opened at line 2" in out
    assert "two.j2:1:" in out
    assert "3 templates, 2 with errors" in out


def test_check_passes_and_show_prints_the_translation(tmp_path, monkeypatch, capsys) -> None:
    project(tmp_path, {"ok.html": "<%= name.upcase %>"})
    monkeypatch.chdir(tmp_path)
    assert main(["templates", "check"]) == 0
    assert main(["templates", "show", "ok.html"]) == 0
    assert capsys.readouterr().out.endswith("{{ (name|upper) }}")
    assert main(["templates", "show", "nope.html"]) == 1


def test_show_follows_the_semantics_setting(tmp_path, monkeypatch, capsys) -> None:
    project(tmp_path, {"avg.html": "<%= total / count %>"})
    monkeypatch.chdir(tmp_path)
    assert main(["templates", "show", "avg.html"]) == 0
    assert capsys.readouterr().out == "{{ (((total)|rum_div(count)))|rum_print }}"
    (tmp_path / "Rum.toml").write_text((tmp_path / "Rum.toml").read_text() +
                                       "\n[templates]\nsemantics = \"python\"\n")
    assert main(["templates", "show", "avg.html"]) == 0
    assert capsys.readouterr().out == "{{ (total / count) }}"
