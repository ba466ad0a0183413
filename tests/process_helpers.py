"""For tests that run ``rum`` as a subprocess: wait until it serves, stop it with a signal.

Tests are not packages: suites import this module by bare name (``from process_helpers import
...``); pytest puts this directory on ``sys.path`` because it holds the root ``conftest.py``.
The process must have been started with ``stdout=PIPE, stderr=STDOUT, text=True``, so that
failures can show what it printed.
"""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest


def _command(proc: subprocess.Popen) -> str:
    args = proc.args
    return " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)


def wait_until_serving(url: str, proc: subprocess.Popen, timeout: float = 15) -> None:
    """Poll ``url`` until it answers; fail with the process's output if the process exits
    first or ``timeout`` seconds pass (the process is killed then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{_command(proc)} exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{_command(proc)} did not answer on {url} within {timeout}s:\n"
                f"{proc.stdout.read()}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> str:
    """Send ``sig`` and return everything the process printed; fail (after killing it) if it
    has not exited within ``timeout`` seconds."""
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"{_command(proc)} did not stop on {signal.Signals(sig).name}:\n{out}")
    return out
