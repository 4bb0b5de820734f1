"""Content-addressed blobs: bytes written to storage before the transaction that records them.

A *blob* is an uploaded byte string kept in storage under its SHA-256
(``blobs/ab/cd/abcd...``), the file behind a ``StoredFile`` row. Writing one can take
long (files up to ``REGISTRY_MAX_UPLOAD_BYTES``), so it happens outside any transaction:
a caller writes the blob first, then opens the short writing transaction that records
the row (``registry.services.files.stored_file_record``) with whatever uses it, so no
lock (the ledger's, an incident's row) is held while the bytes go to disk. If that
transaction rolls back, the blob stays behind without a row, and the next upload of the
same bytes finds it at the same name and reuses it: content addressing makes a
rolled-back write harmless instead of an orphan per attempt.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction

from registry.models import StoredFile
from registry.uploads import uploaded_sha256

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Blob:
    """Bytes already in storage: their SHA-256, size and storage name."""

    sha256: str
    size_bytes: int
    name: str


def _refuse_inside_transaction() -> None:
    # The test Django's atomic(durable=True) makes: the blocks a test case opens around
    # each test do not count, a block the code opened does.
    blocks = transaction.get_connection().atomic_blocks
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise RuntimeError(
            "blob_write must run before the transaction that records the file, not inside it"
        )


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def _storage() -> Storage:
    storage: Storage = StoredFile._meta.get_field("content").storage  # type: ignore[union-attr]
    return storage


def blob_name(sha256: str) -> str:
    """The storage name of the blob with this SHA-256 (the model's ``upload_to``)."""
    field = StoredFile._meta.get_field("content")
    name: str = field.generate_filename(StoredFile(sha256=sha256), sha256)  # type: ignore[union-attr]
    return name


def blob_write(*, content: IO[bytes] | bytes, max_bytes: int | None = None) -> Blob:
    """Stream ``content`` to storage under its SHA-256, once: the same bytes written
    again leave the existing file alone. Refuses (ValidationError) a file over the
    upload limit (``max_bytes``, by default ``REGISTRY_MAX_UPLOAD_BYTES``), and refuses
    to run inside a transaction.

    An upload that was hashed as it arrived (``registry.uploads``) is not read again to
    hash it, and one staged on disk beside the blobs is moved into place, not copied.
    """
    _refuse_inside_transaction()
    stream: IO[bytes] = ContentFile(content) if isinstance(content, bytes) else content
    digest, size = _known_digest(stream) or _digest(stream)
    limit = settings.REGISTRY_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if size > limit:
        raise ValidationError({"file": [f"File is {size} bytes; the limit is {limit}."]})
    storage = _storage()
    name = blob_name(digest)
    if not (storage.exists(name) and storage.size(name) == size):
        _publish(storage, name, stream)
    return Blob(sha256=digest, size_bytes=size, name=name)


def blob_read(sha256: str) -> bytes:
    """The bytes of the blob with this SHA-256 (written earlier by ``blob_write``)."""
    with _storage().open(blob_name(sha256), "rb") as handle:
        content: bytes = handle.read()
    return content


def _known_digest(stream: IO[bytes]) -> tuple[str, int] | None:
    digest = uploaded_sha256(stream)
    size = getattr(stream, "size", None)
    return (digest, size) if digest is not None and isinstance(size, int) else None


def _publish(storage: Storage, name: str, stream: IO[bytes]) -> None:
    """Put the bytes at ``name`` all at once: they are written under a name of their own
    and renamed into place, so nobody (a concurrent writer of the same bytes checking the
    size, a worker about to parse them) ever sees a half-written blob at ``name``. A
    rename over a file is atomic, and both hold the same bytes."""
    stream.seek(0)
    staged = storage.save(f"{name}.{uuid.uuid4().hex}.partial", stream)
    os.replace(storage.path(staged), storage.path(name))
