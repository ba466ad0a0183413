"""Hook implementations of the static plugin (in progress)."""
