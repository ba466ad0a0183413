"""Vendor Swagger UI's browser bundle into ``plugins/rum_rest/static/``.

Run at build time, never at run time::

    python scripts/vendor_swagger_ui.py           # latest 5.x release
    python scripts/vendor_swagger_ui.py 5.35.0    # a given version

It asks npm (the only client allowed to talk to the npm registry here) to ``npm pack`` the
``swagger-ui-dist`` package into a temporary directory, unpacks the tarball and copies only
what the API docs page loads: ``swagger-ui-bundle.js`` and ``swagger-ui.css``, each with a
gzip sibling (served to clients that accept gzip), plus the package's ``LICENSE`` (Apache
2.0) and the bundle's third-party license notices. It records the version, the license and
the tarball's SHA-256 (and each file's) in ``VERSION-swagger-ui.txt``. Commit the files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "swagger-ui-dist"
DEFAULT_SPEC = "5"
#: tarball member -> file name in the target directory
FILES = {
    "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "package/swagger-ui.css": "swagger-ui.css",
    "package/LICENSE": "LICENSE-swagger-ui.txt",
    "package/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
}
COMPRESSED = ("swagger-ui-bundle.js", "swagger-ui.css")
TARGET = Path(__file__).resolve().parent.parent / "plugins" / "rum_rest" / "static"


def vendor(spec: str = DEFAULT_SPEC, target: Path = TARGET) -> str:
    """Fetch ``swagger-ui-dist@spec`` with npm and copy its bundle to ``target``; return the
    version."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed: apt-get install npm (only needed to vendor)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([npm, "pack", f"{PACKAGE}@{spec}", "--json", "--silent"],
                             cwd=tmp, check=True, capture_output=True, text=True).stdout
        info = json.loads(out)[0]
        tarball = Path(tmp) / info["filename"]
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        target.mkdir(parents=True, exist_ok=True)
        sums = []
        with tarfile.open(tarball) as tar:
            try:
                meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
                for member, name in FILES.items():
                    source = tar.extractfile(member)
                    assert source is not None
                    data = source.read()
                    (target / name).write_bytes(data)
                    sums.append(f"  {hashlib.sha256(data).hexdigest()}  {name}")
                    if name in COMPRESSED:  # mtime 0: reproducible
                        (target / f"{name}.gz").write_bytes(
                            gzip.compress(data, compresslevel=9, mtime=0))
            except KeyError as exc:
                raise SystemExit(f"{tarball.name} has no {exc}; the package layout changed, "
                                 f"update FILES in {__file__}") from None
        version = info["version"]
        (target / "VERSION-swagger-ui.txt").write_text(
            f"package: {PACKAGE}\nversion: {version}\n"
            f"files: {', '.join(FILES.values())} (copied unmodified; .gz siblings made by "
            f"scripts/vendor_swagger_ui.py)\ntarball: {info['filename']}\n"
            f"tarball sha256: {digest}\nlicense (package.json): {meta.get('license')}\n"
            f"homepage: {meta.get('homepage')}\nsha256 of the copied files:\n"
            + "\n".join(sums) + "\n", encoding="utf-8")
        return version


if __name__ == "__main__":
    print(f"vendored {PACKAGE} {vendor(*sys.argv[1:2])} into {TARGET}")
