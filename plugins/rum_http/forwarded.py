"""``X-Forwarded-For``/``X-Forwarded-Proto`` from trusted proxies (``[http] trusted_proxies``).

Behind a reverse proxy every connection comes from the proxy, so ``request.client`` would be
the proxy's address and ``request.scheme`` ``"http"`` even for HTTPS visitors. When the peer
of a connection is one of ``trusted_proxies`` (addresses or networks), the server takes the
client from ``X-Forwarded-For`` — the rightmost address that is not itself a trusted proxy,
since everything left of it was written by the client and can be forged — and the scheme from
the last ``X-Forwarded-Proto`` value (``http`` or ``https``). From any other peer both headers
are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from rum.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The ``[http] trusted_proxies`` networks, and how a request's client is read."""

    __slots__ = ("networks",)

    def __init__(self, entries: Iterable[str]) -> None:
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
            except ValueError:
                raise ConfigError(f"[http] trusted_proxies: {entry!r} is not an IP address or "
                                  f"network (e.g. \"127.0.0.1\", \"10.0.0.0/8\", "
                                  f"\"::1\")") from None
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str | None) -> bool:
        """Whether ``host`` (an address) is a trusted proxy."""
        if not self.networks or not host:
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def resolve(self, headers: Iterable[tuple[str, str]], client: tuple[str, int] | None,
                scheme: str) -> tuple[tuple[str, int] | None, str]:
        """The ``(client, scheme)`` of a request that came through a trusted proxy
        (``headers``: lowercase names)."""
        forwarded_for: list[str] = []
        proto = ""
        for name, value in headers:
            if name == "x-forwarded-for":
                forwarded_for.extend(part.strip() for part in value.split(","))
            elif name == "x-forwarded-proto":
                proto = value.rsplit(",", 1)[-1].strip().lower()
        for address in reversed(forwarded_for):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                break  # garbage: keep what we have rather than guess
            client = (address, 0)
            if not self.trusts(address):
                break
        if proto in ("http", "https"):
            scheme = proto
        return client, scheme
