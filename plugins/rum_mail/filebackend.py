"""The development backend: each message becomes an ``.eml`` file, announced by one log line."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from pathlib import Path

import trio

from rum_mail.envelope import Envelope

logger = logging.getLogger("rum.mail")
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


class FileBackend:
    """Writes each message to ``directory/<UTC time>-<subject>.eml`` (open it with any mail
    client) and logs ``mail "<subject>" to <recipients>: <path>``. ``directory`` is created
    when the first message is written. :attr:`last_path` is the newest file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.last_path: Path | None = None

    def path_for(self, envelope: Envelope) -> Path:
        """Where ``envelope`` is written: sortable by time, readable by subject, unique by
        Message-ID."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
        slug = _UNSAFE.sub("-", envelope.subject).strip("-").lower()[:40] or "mail"
        digest = hashlib.sha1(envelope.message_id.encode()).hexdigest()[:8]
        return self.directory / f"{stamp}-{slug}-{digest}.eml"

    async def send(self, envelope: Envelope) -> None:
        """Write the message (in a worker thread) and log its path."""
        path = self.path_for(envelope)
        await trio.to_thread.run_sync(_write, path, envelope.as_bytes())
        self.last_path = path
        logger.info("mail %r to %s: %s", envelope.subject, ", ".join(envelope.recipients),
                    path)


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)
