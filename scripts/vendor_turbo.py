"""Vendor Hotwired Turbo's browser build into ``plugins/rum_turbo/static/``.

Run at build time, never at run time::

    python scripts/vendor_turbo.py            # latest 8.x release
    python scripts/vendor_turbo.py 8.0.12     # a given version

It asks npm (the only client allowed to talk to the npm registry here) to ``npm pack`` the
``@hotwired/turbo`` package into a temporary directory, unpacks the tarball, copies the ES2017
UMD build to ``turbo.js`` and records the version, the license declared in ``package.json``
(the tarball ships no LICENSE file; the build starts with its copyright banner) and the
tarball's SHA-256 in ``VERSION-turbo.txt``, and writes ``turbo.js.gz`` (served to clients
that accept gzip). Commit the three files.
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

PACKAGE = "@hotwired/turbo"
DEFAULT_SPEC = "8"
BUILD = "package/dist/turbo.es2017-umd.js"
TARGET = Path(__file__).resolve().parent.parent / "plugins" / "rum_turbo" / "static"


def vendor(spec: str = DEFAULT_SPEC, target: Path = TARGET) -> str:
    """Fetch ``@hotwired/turbo@spec`` with npm and copy its build to ``target``; return version."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed: apt-get install npm (only needed to vendor)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([npm, "pack", f"{PACKAGE}@{spec}", "--json", "--silent"],
                             cwd=tmp, check=True, capture_output=True, text=True).stdout
        info = json.loads(out)[0]
        tarball = Path(tmp) / info["filename"]
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        with tarfile.open(tarball) as tar:
            try:
                build = tar.extractfile(BUILD)
                meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            except KeyError as exc:
                raise SystemExit(f"{tarball.name} has no {exc}; the package layout changed, "
                                 f"update BUILD in {__file__}") from None
            assert build is not None
            code = build.read()
        target.mkdir(parents=True, exist_ok=True)
        (target / "turbo.js").write_bytes(code)
        # A precompressed sibling, served to clients that accept gzip (mtime 0: reproducible).
        (target / "turbo.js.gz").write_bytes(gzip.compress(code, compresslevel=9, mtime=0))
        banner = code.split(b"*/", 1)[0].decode("utf-8", "replace").strip("/*! \n")
        version = info["version"]
        (target / "VERSION-turbo.txt").write_text(
            f"package: {PACKAGE}\nversion: {version}\nfile: {BUILD.removeprefix('package/')}"
            f" (copied as turbo.js, unmodified)\ntarball: {info['filename']}\n"
            f"tarball sha256: {digest}\nlicense (package.json): {meta.get('license')}\n"
            f"author: {meta.get('author')}\nhomepage: {meta.get('homepage')}\n"
            f"banner:\n{banner}\n", encoding="utf-8")
        return version


if __name__ == "__main__":
    print(f"vendored {PACKAGE} {vendor(*sys.argv[1:2])} into {TARGET}")
