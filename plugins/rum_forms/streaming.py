"""Feed a ``multipart/form-data`` body to :class:`MultipartReader` as it arrives.

Small chunks are parsed on the event loop (python-multipart's callbacks per chunk are cheap);
a chunk of :data:`INLINE_LIMIT` bytes or more is parsed in a worker thread under the forms
plugin's :class:`trio.CapacityLimiter`, since writing a spooled file's data to disk and the
parser's work grow with the chunk. Whatever happens, the reader's files are closed unless
the parse succeeds (spooled temporary files vanish with them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from rum_forms.parser import MultipartReader, boundary_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from rum.formdata import FormData
    from rum_forms.settings import FormLimits

#: chunks smaller than this are parsed on the event loop, larger ones in a worker thread
INLINE_LIMIT = 16 * 1024


async def parse_stream(content_type: str, chunks: AsyncIterator[bytes], limits: FormLimits,
                       limiter: trio.CapacityLimiter) -> FormData:
    """Parse the multipart body ``chunks`` yields; a limit crossed raises at once (413),
    without reading the rest."""
    reader = MultipartReader(boundary_of(content_type), limits)
    try:
        async for chunk in chunks:
            if len(chunk) < INLINE_LIMIT:
                reader.feed(chunk)
            else:
                await trio.to_thread.run_sync(reader.feed, chunk, limiter=limiter)
        return reader.finish()
    except BaseException:
        reader.close()
        raise
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with trio.CancelScope(shield=True):
                await aclose()
