"""Hook implementations of the metrics plugin (in progress)."""
