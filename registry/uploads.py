"""Upload handlers that hash each uploaded file while it streams in.

Django reads a multipart body chunk by chunk and hands each chunk to its upload
handlers; these add the chunk to a SHA-256 as they store it, so a finished upload
carries its digest (``UploadedFile.sha256``) without a second read. A service can then
recognise bytes the registry already holds before parsing anything
(``registry.services.datasets``), and ``registry.blobs.blob_write`` stores them without
hashing them again.

Files up to ``FILE_UPLOAD_MAX_MEMORY_SIZE`` stay in memory, as Django does by default;
larger ones go to a temporary file in the staging folder beside the blobs
(``MEDIA_ROOT/incoming``), on the same file system, so that storing the blob is a rename
instead of a copy. Either way a web worker holds at most one chunk plus the in-memory
limit, however large the file.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)


def staging_dir() -> Path:
    """Where uploads too large for memory are written while they arrive."""
    configured = settings.FILE_UPLOAD_TEMP_DIR
    folder = Path(configured) if configured else Path(settings.MEDIA_ROOT) / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def uploaded_sha256(upload: object) -> str | None:
    """The SHA-256 an upload handler computed while the file arrived, if one did."""
    digest = getattr(upload, "sha256", None)
    return digest if isinstance(digest, str) else None


class StagedUploadedFile(TemporaryUploadedFile):
    """A temporary upload file in the staging folder (removed when closed, unless the
    blob store moved it into place first)."""

    def __init__(
        self,
        name: str,
        content_type: str,
        size: int,
        charset: str | None,
        content_type_extra: dict[str, Any] | None = None,
    ) -> None:
        # Not a context manager: the file lives as long as the upload (Django's own
        # TemporaryUploadedFile does the same), and closing it removes it.
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=staging_dir())  # noqa: SIM115
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class _Hashing(FileUploadHandler):
    """Keeps a SHA-256 of the chunks this handler stores (not of those it passes on to
    the next handler, which hashes them itself)."""

    hasher: Any

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        # Before the handler's own new_file: the memory handler ends its with
        # StopFutureHandlers when it takes the file.
        self.hasher = hashlib.sha256()
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        passed_on: bytes | None = super().receive_data_chunk(raw_data, start)
        if passed_on is None:
            self.hasher.update(raw_data)
        return passed_on

    def file_complete(self, file_size: int) -> UploadedFile | None:
        upload: UploadedFile | None = super().file_complete(file_size)
        if upload is not None:
            upload.sha256 = self.hasher.hexdigest()  # type: ignore[attr-defined]
        return upload


class HashingMemoryFileUploadHandler(_Hashing, MemoryFileUploadHandler):
    """Small files in memory (Django's default), with their SHA-256."""


class _StagingFileUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, writing to the staging folder."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = StagedUploadedFile(
            self.file_name or "upload",
            self.content_type or "application/octet-stream",
            0,
            self.charset,
            self.content_type_extra,
        )


class HashingTemporaryFileUploadHandler(_Hashing, _StagingFileUploadHandler):
    """Larger files streamed to the staging folder, with their SHA-256."""
