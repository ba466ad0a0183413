"""Rum auth plugin (in progress)."""
