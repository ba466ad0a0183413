"""Hook implementations of the websockets plugin (in progress)."""
