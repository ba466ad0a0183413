"""Bounded, streaming ``multipart/form-data`` parsing with python-multipart.

:class:`MultipartReader` is fed the body in chunks and enforces :class:`FormLimits` as it
goes, so a hostile body is refused as soon as it crosses a limit instead of being parsed
whole. Nested ``multipart/mixed`` parts (obsoleted by RFC 7578 §4.3) are refused, never
parsed; a file part whose type is ``multipart/*`` is kept as opaque bytes. The reader is
synchronous and CPU-bound: the plugin runs it in a worker thread (a whole buffered body) or
feeds it a streamed body chunk by chunk (:mod:`rum_forms.streaming`).
"""

from __future__ import annotations

import logging
import tempfile
from typing import NoReturn

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from rum.errors import BadRequest, PayloadTooLarge
from rum.formdata import FormData
from rum_forms.settings import SECTION, FormLimits
from rum_forms.uploads import UploadedFile

#: bytes handed to the parser at a time
CHUNK_SIZE = 64 * 1024
#: headers one part may carry (browsers send two or three)
MAX_PART_HEADERS = 16
#: python-multipart logs a warning for each malformed body before it raises; the reader turns
#: each of those errors into a 400 naming it, so the parser gets a logger that says nothing
#: (a client's bad body is not the server's warning, and cannot flood its log)
_SILENT = logging.Logger("rum_forms.parser", logging.CRITICAL + 1)


def _too_large(what: str, limit: int, key: str) -> NoReturn:
    """413 saying ``what`` (a phrase ending in "is"/"are") is over ``limit`` and which key."""
    raise PayloadTooLarge(f"{what} larger than {limit} bytes; raise [{SECTION}] {key} to "
                          "accept more")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def boundary_of(content_type: str) -> bytes:
    """The ``boundary`` parameter of a ``multipart/form-data`` Content-Type (400 if absent)."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data body without a boundary parameter in its "
                         "Content-Type")
    if len(boundary) > 70:  # RFC 2046 §5.1.1
        raise BadRequest("multipart boundary longer than 70 characters")
    return boundary


class MultipartReader:
    """Parse one ``multipart/form-data`` body under ``limits``; :meth:`feed`, then
    :meth:`finish` for the :class:`~rum.formdata.FormData`.

    Every limit crossed raises at once: :class:`~rum.PayloadTooLarge` (413) for sizes,
    :class:`~rum.BadRequest` (400) for the part count and malformed input, each naming the
    ``[forms]`` setting that raises the limit. On error every spooled file is closed.
    """

    def __init__(self, boundary: bytes, limits: FormLimits) -> None:
        self.limits = limits
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, UploadedFile]] = []
        self._parts = 0
        self._fields_size = 0
        self._files_size = 0
        self._ended = False
        self._header_size = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._content_type = ""
        self._value = bytearray()
        self._file: tempfile.SpooledTemporaryFile[bytes] | None = None
        self._file_size = 0
        self._file_on_disk = False
        self._in_memory = 0  # bytes of this body's files held in memory, all files together
        self._parser = MultipartParser(
            boundary,
            {"on_part_begin": self._on_part_begin,
             "on_header_field": self._on_header_field,
             "on_header_value": self._on_header_value,
             "on_header_end": self._on_header_end,
             "on_headers_finished": self._on_headers_finished,
             "on_part_data": self._on_part_data,
             "on_part_end": self._on_part_end,
             "on_end": self._on_end},
            max_header_count=MAX_PART_HEADERS,
            max_header_size=limits.max_part_header_size + 1,
        )
        self._parser.logger = _SILENT

    # -- driving --------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse the next chunk of the body."""
        try:
            self._parser.write(data)
        except MultipartParseError as exc:
            self.close()
            message = str(exc)
            if "header size" in message:
                _too_large("a part's headers are", self.limits.max_part_header_size,
                           "max_part_header_size")
            if "header count" in message:
                raise BadRequest(f"a part of the multipart body has more than "
                                 f"{MAX_PART_HEADERS} headers") from None
            raise BadRequest(f"malformed multipart/form-data body: {message}") from None
        except BaseException:
            self.close()
            raise

    def finish(self) -> FormData:
        """The parsed form; 400 if the body stopped before its closing boundary."""
        if not self._ended:
            self.close()
            raise BadRequest("malformed multipart/form-data body: it ends before the closing "
                             "boundary")
        return FormData(self.fields, self.files)

    def close(self) -> None:
        """Close every file opened so far (after an error)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        for _, upload in self.files:
            upload.close()

    # -- parser callbacks -----------------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise BadRequest(f"the multipart body has more than {self.limits.max_parts} parts; "
                             f"raise [{SECTION}] max_parts to accept more")
        self._header_size = 0
        self._headers = {}
        self._header_field.clear()
        self._header_value.clear()

    def _count_header(self, n: int) -> None:
        self._header_size += n
        if self._header_size > self.limits.max_part_header_size:
            _too_large("a part's headers are", self.limits.max_part_header_size,
                       "max_part_header_size")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = bytes(self._header_field).decode("latin-1").strip().lower()
        self._headers[name] = bytes(self._header_value).strip()
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequest("a part of the multipart body has no Content-Disposition: "
                             "form-data header with a name")
        self._name = _decode(params[b"name"])
        raw_filename = params.get(b"filename")
        self._filename = None if raw_filename is None else _decode(raw_filename)
        ctype, _ = parse_options_header(self._headers.get("content-type"))
        self._content_type = ctype.decode("latin-1")
        if self._content_type.startswith("multipart/") and self._filename is None:
            # RFC 2388's multipart/mixed set of files, obsoleted by RFC 7578 §4.3; a file
            # that happens to be a MIME message (it has a filename) is kept as opaque bytes
            raise BadRequest(f"part {self._name!r} is a nested {self._content_type} body; "
                             "multipart/form-data does not nest (RFC 7578 §4.3): send each "
                             "file as its own part")
        self._value.clear()
        self._file_size = 0
        self._file_on_disk = False
        if self._filename is not None:
            # closed by UploadedFile.close() (or self.close() on error), not a with block
            self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=self.limits.spool_threshold, dir=self.limits.temp_dir)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._file is not None:
            self._file_size += n
            self._files_size += n
            if self._file_size > self.limits.max_file_size:
                _too_large(f"file {self._filename!r} (field {self._name!r}) is",
                           self.limits.max_file_size, "max_file_size")
            if self._files_size > self.limits.max_files_size:
                _too_large("the files of this form together are", self.limits.max_files_size,
                           "max_files_size")
            if not self._file_on_disk:
                # the files of one body share spool_threshold: once they hold it in memory,
                # this one goes to disk (each alone under it, 49 files made 47 MB a request)
                if self._in_memory + n > self.limits.spool_threshold:
                    self._file.rollover()
                    self._in_memory -= self._file_size - n  # what it held is on disk now
                    self._file_on_disk = True
                else:
                    self._in_memory += n
            self._file.write(data[start:end])
        else:
            self._fields_size += n
            if self._fields_size > self.limits.max_fields_size:
                _too_large("the text fields of this form together are",
                           self.limits.max_fields_size, "max_fields_size")
            self._value += data[start:end]

    def _on_part_end(self) -> None:
        if self._file is not None:
            spool, self._file = self._file, None
            if not self._filename and self._file_size == 0:
                spool.close()  # an <input type=file> left empty
                return
            spool.seek(0)
            ctype = self._content_type or "application/octet-stream"
            headers = {k: _decode(v) for k, v in self._headers.items()}
            filename = (self._filename or "").replace("\\", "/").rsplit("/", 1)[-1]
            self.files.append((self._name, UploadedFile(
                self._name, filename, ctype, spool, self._file_size, headers)))
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"field {self._name!r} of the multipart body is not valid "
                             "UTF-8") from None
        self.fields.append((self._name, value))

    def _on_end(self) -> None:
        self._ended = True


def count_parts(body: bytes, boundary: bytes) -> int:
    """How many parts ``body`` can hold at most: its delimiter lines, minus the closing one.

    RFC 2046 §5.1.1 forbids the delimiter (CRLF, ``--``, boundary) inside a part, so this
    C-speed count never undercounts a well-formed body's parts.
    """
    delimiters = body.count(b"\r\n--" + boundary) + body.startswith(b"--" + boundary)
    return max(delimiters - 1, 0)


def parse_multipart(content_type: str, body: bytes, limits: FormLimits) -> FormData:
    """Parse a whole ``multipart/form-data`` body (CPU-bound: call it in a worker thread).

    A body with more delimiters than ``max_parts`` allows is refused before parsing.
    """
    boundary = boundary_of(content_type)
    if count_parts(body, boundary) > limits.max_parts:
        raise BadRequest(f"the multipart body has more than {limits.max_parts} parts; raise "
                         f"[{SECTION}] max_parts to accept more")
    reader = MultipartReader(boundary, limits)
    view = memoryview(body)
    for start in range(0, len(body), CHUNK_SIZE):
        reader.feed(bytes(view[start:start + CHUNK_SIZE]))
    return reader.finish()
