"""A case-insensitive, multi-valued header collection shared by requests and responses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping


class Headers(MutableMapping[str, str]):
    """HTTP headers: ``headers["Content-Type"]`` reads the first value, case-insensitively.

    Names are stored lower-cased. ``getall(name)`` returns every value (``Set-Cookie``),
    ``add(name, value)`` appends one, and item assignment replaces all values of a name.
    Iteration yields each distinct name once; ``items()`` yields every ``(name, value)`` pair.
    """

    __slots__ = ("_list",)

    def __init__(self, raw: Iterable[tuple[str, str]] | dict[str, str] | None = None) -> None:
        if raw is None:
            self._list: list[tuple[str, str]] = []
        elif isinstance(raw, dict):
            self._list = [(k.lower(), v) for k, v in raw.items()]
        else:
            self._list = [(k.lower(), v) for k, v in raw]

    @classmethod
    def from_lowercase(cls, pairs: list[tuple[str, str]]) -> Headers:
        """Wrap a list of already lower-cased pairs without copying (the server's fast path)."""
        h = cls.__new__(cls)
        h._list = pairs
        return h

    def __getitem__(self, name: str) -> str:
        name = name.lower()
        for k, v in self._list:
            if k == name:
                return v
        raise KeyError(name)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The first value of ``name`` (case-insensitive), or ``default``."""
        name = name.lower()
        for k, v in self._list:
            if k == name:
                return v
        return default

    def __setitem__(self, name: str, value: str) -> None:
        name = name.lower()
        self._list = [(k, v) for k, v in self._list if k != name]
        self._list.append((name, value))

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        kept = [(k, v) for k, v in self._list if k != name]
        if len(kept) == len(self._list):
            raise KeyError(name)
        self._list = kept

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        return any(k == name for k, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for k, _ in self._list:
            if k not in seen:
                seen.add(k)
                yield k

    def __len__(self) -> int:
        return len({k for k, _ in self._list})

    def add(self, name: str, value: str) -> None:
        """Append a value without removing existing ones."""
        self._list.append((name.lower(), value))

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        name = name.lower()
        return [v for k, v in self._list if k == name]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every ``(name, value)`` pair, repeated names included."""
        return list(self._list)

    def raw(self) -> list[tuple[str, str]]:
        """The underlying pair list (not a copy): for servers writing headers out."""
        return self._list

    def copy(self) -> Headers:
        """An independent copy (changing it leaves this one alone)."""
        return Headers.from_lowercase(list(self._list))

    def __repr__(self) -> str:
        return f"Headers({self._list!r})"
