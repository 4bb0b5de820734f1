"""Embedded files are read with a bound on their decoded size, before anything inflates them.

A *Flate bomb* is a few kilobytes of compressed stream that inflate to gigabytes: a
``manifest.json`` like that sent to the public verify endpoint drove a worker to 706 MB,
because pyHanko's ``stream.data`` decodes the whole stream at once. Here the stream is
inflated with ``zlib``'s ``max_length``, so at most ``limit + 1`` bytes are ever produced.
Only what a report's attachment uses is accepted (no filter, or one FlateDecode without
parameters); anything else is refused as unexpected.
"""

from __future__ import annotations

import zlib
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

# A manifest lists ids and SHA-256 digests: kilobytes. A megabyte leaves ample room.
MAX_EMBEDDED_FILE_BYTES = 1024 * 1024


class EmbeddedFileError(ValueError):
    """An embedded file that is too large (decoded) or encoded in an unexpected way."""


def bounded_stream_data(
    stream: generic.StreamObject, limit: int = MAX_EMBEDDED_FILE_BYTES
) -> bytes:
    """The decoded bytes of ``stream``; EmbeddedFileError if they would exceed ``limit``."""
    filters = stream.get("/Filter")
    names = (
        []
        if filters is None
        else [filters]
        if isinstance(filters, generic.NameObject)
        else list(filters)
    )
    raw = stream.encoded_data
    if not names:
        decoded = raw
    elif names == ["/FlateDecode"] and "/DecodeParms" not in stream:
        inflater = zlib.decompressobj()
        try:
            decoded = inflater.decompress(raw, limit + 1)
        except zlib.error as error:
            raise EmbeddedFileError(f"the embedded file cannot be inflated: {error}") from None
    else:
        raise EmbeddedFileError(f"the embedded file uses filters {names}; expected FlateDecode")
    if len(decoded) > limit:
        raise EmbeddedFileError(f"an embedded file is larger than the limit of {limit:,} bytes")
    return decoded


def embedded_file_problem(data: bytes, limit: int = MAX_EMBEDDED_FILE_BYTES) -> str | None:
    """Why an embedded file of the PDF ``data`` must not be read, or None.

    Checks the attachments of every revision (the verifier reads the signed one, which
    need not be the last). A file that cannot be parsed is left to the verifier, which
    reports it as unreadable.
    """
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        revisions = reader.xrefs.total_revisions
    except Exception:  # not a PDF: the verifier says so
        return None
    for revision in range(revisions):
        for stream in _attachments(reader, revision):
            try:
                bounded_stream_data(stream, limit)
            except EmbeddedFileError as error:
                return str(error)
    return None


def _attachments(reader: PdfFileReader, revision: int) -> list[generic.StreamObject]:
    try:
        root = reader.get_historical_resolver(revision).root
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
        specs = [names[index + 1] for index in range(0, len(names) - 1, 2)]
        streams = [spec["/EF"]["/F"] for spec in specs]
    except Exception:  # no attachments, or a shape the verifier does not read either
        return []
    return [stream for stream in streams if isinstance(stream, generic.StreamObject)]
