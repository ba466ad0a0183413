"""Rum ratelimit plugin (in progress)."""
