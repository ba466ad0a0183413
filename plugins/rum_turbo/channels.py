"""The pub/sub channels the turbo plugin uses, by prefix (never colliding with others)."""

#: Turbo Stream actions for pages on stream ``<name>``: ``turbo-streams:<name>``.
CHANNEL_PREFIX = "turbo-streams:"
#: Refresh requests, debounced per stream on each node: ``turbo-refresh:<name>``.
REFRESH_PREFIX = "turbo-refresh:"
#: Presence join/leave events (JSON): ``turbo-presence:<name>``.
EVENTS_PREFIX = "turbo-presence:"
