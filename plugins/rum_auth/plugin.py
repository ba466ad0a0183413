"""Hook implementations of the auth plugin (in progress)."""
