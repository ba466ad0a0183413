"""Rum websockets plugin: WebSocket controllers (wsproto) and cross-process broadcasts.

See ``docs/websockets.md``.
"""

from rum_websockets.connection import WebSocket, WebSocketClosed
from rum_websockets.controller import WebSocketController
from rum_websockets.pubsub import PubSub, broadcast, pubsub_for, subscribe

__all__ = [
    "PubSub",
    "WebSocket",
    "WebSocketClosed",
    "WebSocketController",
    "broadcast",
    "pubsub_for",
    "subscribe",
]
