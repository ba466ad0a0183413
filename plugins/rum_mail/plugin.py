"""Hook implementations of the mail plugin."""

from __future__ import annotations

name = "mail"
