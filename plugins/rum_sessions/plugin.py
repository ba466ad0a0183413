"""Hook implementations of the sessions plugin (in progress)."""
