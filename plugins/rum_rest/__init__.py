"""Rum rest plugin (in progress)."""
