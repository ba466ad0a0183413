"""Hook implementations of the turbo plugin (in progress)."""
