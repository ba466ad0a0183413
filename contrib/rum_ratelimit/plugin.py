"""Hook implementations of the ratelimit plugin (in progress)."""
