"""Hook implementations of the orm plugin (in progress)."""
