"""Hook implementations of the templates plugin (in progress)."""
