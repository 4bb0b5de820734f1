"""Stored files: bytes kept once, addressed by their SHA-256."""

from __future__ import annotations

import hashlib
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction

from registry.models import StoredFile

_CHUNK = 1024 * 1024


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def stored_file_put(
    *, content: IO[bytes] | bytes, media_type: str = "application/octet-stream"
) -> StoredFile:
    """Store bytes once, addressed by SHA-256; the same bytes return the same row."""
    stream: IO[bytes] = ContentFile(content) if isinstance(content, bytes) else content
    digest, size = _digest(stream)
    if size > settings.REGISTRY_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [f"File is {size} bytes; the limit is {settings.REGISTRY_MAX_UPLOAD_BYTES}."]}
        )
    existing = StoredFile.objects.filter(sha256=digest).first()
    if existing:
        return existing
    try:
        # A savepoint: a concurrent upload of the same bytes wins the unique
        # constraint and we reuse its row instead of failing the caller.
        with transaction.atomic():
            stored = StoredFile(sha256=digest, size_bytes=size, media_type=media_type)
            stored.content.save(digest, File(stream), save=False)
            stored.save()
            return stored
    except IntegrityError:
        return StoredFile.objects.get(sha256=digest)
