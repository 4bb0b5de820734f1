"""Stored files: bytes kept once, addressed by their SHA-256.

The bytes are written first, outside any transaction (``registry.blobs.blob_write``);
the row that records them is made here, in the caller's short writing transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from registry.blobs import Blob
from registry.models import StoredFile


def stored_file_record(*, blob: Blob, media_type: str) -> StoredFile:
    """The ``StoredFile`` row of a written blob, created on its first use; the same
    bytes return the same row. Runs inside the caller's ``writing()`` transaction."""
    existing = StoredFile.objects.filter(sha256=blob.sha256).first()
    if existing:
        return existing
    try:
        # A savepoint: a concurrent upload of the same bytes wins the unique
        # constraint and we reuse its row instead of failing the caller.
        with transaction.atomic():
            stored = StoredFile(
                sha256=blob.sha256, size_bytes=blob.size_bytes, media_type=media_type
            )
            stored.content.name = blob.name
            stored.save()
            return stored
    except IntegrityError:
        return StoredFile.objects.get(sha256=blob.sha256)
