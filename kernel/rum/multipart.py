"""``multipart/form-data`` decoding with the standard library's ``email`` parser."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

from rum.errors import BadRequest

if TYPE_CHECKING:
    from rum.request import UploadedFile


def parse_multipart(content_type: str, body: bytes) -> tuple[list[tuple[str, str]],
                                                              dict[str, UploadedFile]]:
    """Split a multipart body into text fields and uploaded files."""
    from rum.request import UploadedFile

    if "boundary=" not in content_type:
        raise BadRequest("multipart/form-data body without a boundary parameter")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("malformed multipart/form-data body")
    fields: list[tuple[str, str]] = []
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            ctype = part.get_content_type()
            files[str(name)] = UploadedFile(str(name), filename, ctype, payload)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.append((str(name), payload.decode(charset, errors="replace")))
    return fields, files
