"""Hook implementations of the admin plugin."""

from __future__ import annotations

name = "admin"
