"""Multipart forms (file uploads) read as a stream: the CSRF token from the form's first field before
anything else is read, then each field with a small cap and the file with the upload limit, so an
oversized file is refused after reading just past the limit (the app's 64 KB body limit stays for every
other form)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, MultipartReader, web

# The forms that carry a file (their CSRF token is their first field).
UPLOAD_PATHS = frozenset({"/knowledge/upload"})
FIELD_BYTES = 1024  # a token, an id, a name
CHUNK = 64 * 1024
MULTIPART: web.RequestKey[MultipartReader] = web.RequestKey("multipart", MultipartReader)


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    data: bytes = b""
    size: int = 0  # the file's size, or at least how much past the limit it went
    over: bool = False  # larger than the limit: `data` is not the whole file


def is_upload(request: web.Request) -> bool:
    return request.content_type == "multipart/form-data" and request.path in UPLOAD_PATHS


async def small_field(part: BodyPartReader) -> str | None:
    """The field's text, or None when it is longer than FIELD_BYTES or not UTF-8."""
    data = bytearray()
    while chunk := await part.read_chunk(FIELD_BYTES):
        data += chunk
        if len(data) > FIELD_BYTES:
            return None
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return None


async def upload_csrf(request: web.Request) -> str | None:
    """The token in an upload form's first field; the rest is left for `read_upload`."""
    reader = await request.multipart()
    request[MULTIPART] = reader
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "csrf" or part.filename is not None:
        return None
    return await small_field(part)


async def read_upload(request: web.Request, max_bytes: int) -> Upload:
    """The form's fields and its one file, read up to `max_bytes` of file (then `over`, and the rest of
    the request is left unread: aiohttp discards it after the answer)."""
    reader = request.get(MULTIPART) or await request.multipart()
    upload = Upload()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is None:
            value = await small_field(part)
            if value is None:
                raise web.HTTPBadRequest(text=f"The form's field {part.name[:40]!r} is too long.\n")
            upload.fields[part.name] = value
            continue
        upload.filename = part.filename
        data = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                # The request's length is the file's to within the form around it.
                upload.size, upload.over = max(len(data), request.content_length or 0), True
                return upload
        upload.data, upload.size = bytes(data), len(data)
    return upload
