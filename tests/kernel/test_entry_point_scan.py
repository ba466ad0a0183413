"""Rum reads entry points itself (importlib.metadata is slow to import and to scan with): it
must find exactly what importlib.metadata finds."""

from __future__ import annotations

import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from rum.plugins import entry_points, installed_plugins


def found_by_rum(group: str) -> list[tuple[str, str, str]]:
    return [(ep.name, ep.value, dist_dir(ep)) for ep in entry_points(group)]


def found_by_importlib(group: str) -> list[tuple[str, str, str]]:
    return [(ep.name, ep.value, dist_dir(ep)) for ep in metadata.entry_points(group=group)]


def dist_dir(entry_point: object) -> str:
    return str(entry_point.dist._path).rstrip("/").rpartition("/")[2]  # (a dir, or in a zip)


def dist_info(site: Path, dirname: str, entry_points_txt: str) -> None:
    info = site / dirname
    info.mkdir()
    name, version = dirname.rsplit(".", 1)[0].split("-")[:2]
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(entry_points_txt)


@pytest.mark.parametrize("group", ["rum.plugins", "rum.tools", "console_scripts", "pytest11"])
def test_the_installed_entry_points_are_importlib_metadatas(group: str) -> None:
    assert found_by_rum(group) == found_by_importlib(group)
    assert found_by_rum(group)  # (each group has some in this environment)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_the_first_distribution_of_a_name_wins_and_sections_parse_alike(site: Path) -> None:
    # an older copy of the rum distribution first on sys.path hides the installed one
    dist_info(site, "Rum-0.0.1.dist-info", "# comment\n[console_scripts]\nrum = old:main\n\n"
                                            "[rum.plugins]\n# another comment\n"
                                            "  http   =  old_http.plugin:hooks.sub [extra]\n")
    dist_info(site, "rum_extra-1.0.egg-info", "[rum.plugins]\nextra = extra_plugin\n")
    dist_info(site, "other_thing-2.0.dist-info", "[other]\nx = y\n")
    for group in ("rum.plugins", "console_scripts", "other"):
        assert found_by_rum(group) == found_by_importlib(group)
    assert installed_plugins()["http"].value == "old_http.plugin:hooks.sub [extra]"
    assert "orm" not in installed_plugins()  # the installed rum distribution is hidden


def test_load_follows_the_attribute_path(site: Path) -> None:
    (site / "scan_probe.py").write_text("class hooks:\n    class sub:\n        marker = 42\n")
    dist_info(site, "scan_probe-1.0.dist-info",
              "[rum.plugins]\nprobe = scan_probe:hooks.sub [extra]\nmodule = scan_probe\n")
    try:
        assert installed_plugins()["probe"].load().marker == 42
        assert installed_plugins()["module"].load() is sys.modules["scan_probe"]
        assert installed_plugins()["probe"].dist.version == "1.0"
    finally:
        sys.modules.pop("scan_probe", None)


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\n"
                                                    "Version: 1.0\n")
        z.writestr("zipped-1.0.dist-info/entry_points.txt", "[rum.plugins]\nzipped = zmod\n")
    monkeypatch.syspath_prepend(str(archive))
    assert installed_plugins()["zipped"].value == "zmod"
    assert found_by_rum("rum.plugins") == found_by_importlib("rum.plugins")
