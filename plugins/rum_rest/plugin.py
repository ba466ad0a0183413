"""Hook implementations of the rest plugin (in progress)."""
