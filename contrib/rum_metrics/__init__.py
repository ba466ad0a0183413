"""Rum metrics plugin (in progress)."""
