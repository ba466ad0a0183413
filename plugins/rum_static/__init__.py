"""Rum static plugin (in progress)."""
