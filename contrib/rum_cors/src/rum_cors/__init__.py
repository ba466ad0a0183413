"""rum-cors: Cross-Origin Resource Sharing for Rum apps (entry point ``cors``)."""

from rum_cors.policy import CorsPolicy

__all__ = ["CorsPolicy"]
__version__ = "0.1.0"
