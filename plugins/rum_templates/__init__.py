"""Rum templates plugin (in progress)."""
