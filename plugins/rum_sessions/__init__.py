"""Rum sessions plugin (in progress)."""
