"""HTTP/1.1 server plugin for Rum, on trio (placeholder until the server lands)."""
