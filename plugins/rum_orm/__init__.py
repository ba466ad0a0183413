"""Rum orm plugin (in progress)."""
