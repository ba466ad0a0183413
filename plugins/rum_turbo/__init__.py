"""Rum turbo plugin: Hotwired Turbo's script, Frame and Stream helpers, Stream broadcasts.

See ``docs/turbo.md``. Turbo itself (``static/turbo.js``) is vendored from the npm package
``@hotwired/turbo`` by ``scripts/vendor_turbo.py``; ``static/VERSION-turbo.txt`` says which.
"""

from rum_turbo.broadcasts import (
    TurboStreamsSocket,
    broadcast_stream,
    stream_source_url,
    turbo_stream_from,
)
from rum_turbo.detect import accepts_turbo_stream, is_turbo_frame_request, turbo_frame_id
from rum_turbo.model_broadcasts import (
    Broadcasts,
    broadcast_refresh,
    broadcasts_refreshes,
    broadcasts_to,
    dom_id,
    turbo_request_id,
)
from rum_turbo.plugin import presence_list, turbo_refresh_tags, turbo_script_tag, turbo_version
from rum_turbo.presence import Presence, PresenceEntry, presence_for, set_presence_meta
from rum_turbo.signing import sign_stream_name, verify_stream_name
from rum_turbo.streams import (
    TURBO_STREAM_MIME,
    TurboStream,
    stream_tag,
    turbo_frame,
    turbo_stream,
    turbo_stream_response,
)

__all__ = [
    "TURBO_STREAM_MIME",
    "Broadcasts",
    "Presence",
    "PresenceEntry",
    "TurboStream",
    "TurboStreamsSocket",
    "accepts_turbo_stream",
    "broadcast_refresh",
    "broadcast_stream",
    "broadcasts_refreshes",
    "broadcasts_to",
    "dom_id",
    "is_turbo_frame_request",
    "presence_for",
    "presence_list",
    "set_presence_meta",
    "sign_stream_name",
    "stream_source_url",
    "stream_tag",
    "turbo_frame",
    "turbo_frame_id",
    "turbo_refresh_tags",
    "turbo_request_id",
    "turbo_script_tag",
    "turbo_stream",
    "turbo_stream_from",
    "turbo_stream_response",
    "turbo_version",
    "verify_stream_name",
]
