"""Rum websockets plugin (in progress)."""
