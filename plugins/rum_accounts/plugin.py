"""Hook implementations of the accounts plugin."""

from __future__ import annotations

name = "accounts"
