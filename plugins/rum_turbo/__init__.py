"""Rum turbo plugin (in progress)."""
