"""A case-insensitive, multi-valued header collection shared by requests and responses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping


class Headers(MutableMapping[str, str]):
    """HTTP headers: ``headers["Content-Type"]`` reads the first value, case-insensitively.

    Names are stored lower-cased. ``getall(name)`` returns every value (``Set-Cookie``),
    ``add(name, value)`` appends one, and item assignment replaces all values of a name.
    Iteration yields each distinct name once; ``items()`` yields every ``(name, value)`` pair.
    ``pairs`` is the underlying list of ``(lower-case name, value)`` in order, for servers that
    write headers out without a copy: read it, change headers through the methods.
    """

    __slots__ = ("pairs",)

    def __init__(self, raw: Iterable[tuple[str, str]] | dict[str, str] | None = None) -> None:
        if raw is None:
            self.pairs: list[tuple[str, str]] = []
        elif isinstance(raw, dict):
            self.pairs = [(k.lower(), v) for k, v in raw.items()]
        else:
            self.pairs = [(k.lower(), v) for k, v in raw]

    @classmethod
    def from_lowercase(cls, pairs: list[tuple[str, str]]) -> Headers:
        """Wrap a list of already lower-cased pairs without copying (the server's fast path)."""
        h = cls.__new__(cls)
        h.pairs = pairs
        return h

    def __getitem__(self, name: str) -> str:
        name = name.lower()
        for k, v in self.pairs:
            if k == name:
                return v
        raise KeyError(name)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The first value of ``name`` (case-insensitive), or ``default``."""
        name = name.lower()
        for k, v in self.pairs:
            if k == name:
                return v
        return default

    def __setitem__(self, name: str, value: str) -> None:
        name = name.lower()
        self.pairs = [(k, v) for k, v in self.pairs if k != name]
        self.pairs.append((name, value))

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        kept = [(k, v) for k, v in self.pairs if k != name]
        if len(kept) == len(self.pairs):
            raise KeyError(name)
        self.pairs = kept

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        return any(k == name for k, _ in self.pairs)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for k, _ in self.pairs:
            if k not in seen:
                seen.add(k)
                yield k

    def __len__(self) -> int:
        return len({k for k, _ in self.pairs})

    def add(self, name: str, value: str) -> None:
        """Append a value without removing existing ones."""
        self.pairs.append((name.lower(), value))

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        name = name.lower()
        return [v for k, v in self.pairs if k == name]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every ``(name, value)`` pair, repeated names included."""
        return list(self.pairs)

    def raw(self) -> list[tuple[str, str]]:
        """The underlying pair list (not a copy): for servers writing headers out."""
        return self.pairs

    def copy(self) -> Headers:
        """An independent copy (changing it leaves this one alone)."""
        return Headers.from_lowercase(list(self.pairs))

    def __repr__(self) -> str:
        return f"Headers({self.pairs!r})"
