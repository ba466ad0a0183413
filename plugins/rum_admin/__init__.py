"""Rum admin: record pages for registered models and live dashboards, mounted at ``/admin``."""
