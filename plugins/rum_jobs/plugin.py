"""Hook implementations of the jobs plugin (in progress)."""
