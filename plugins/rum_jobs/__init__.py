"""Rum jobs plugin (in progress)."""
