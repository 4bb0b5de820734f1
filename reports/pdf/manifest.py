"""The embedded manifest: canonical bytes, digest, and the PDF objects that carry it.

The *manifest* is a small JSON document listing what a report relies on (see
:class:`reports.pdf.document.Manifest`). It is embedded as the file attachment
``manifest.json`` (ISO 32000-1 section 7.11.4, embedded file streams, reachable from the
catalog's ``/Names /EmbeddedFiles`` tree and, PDF/A-3 style, from ``/AF``).

*Canonical* serialisation here means: keys sorted, no insignificant whitespace, UTF-8,
non-ASCII characters kept literal. Equal manifests therefore have equal bytes and an
equal SHA-256, which the title page prints and the document info dictionary records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDate,
    PDFDictionary,
    PDFInfo,
    PDFName,
    PDFStream,
    PDFString,
    PDFText,
    PDFZCompress,
)
from reportlab.pdfgen.canvas import Canvas

MANIFEST_NAME = "manifest.json"
MANIFEST_MEDIA_TYPE = "application/json"
# The media type as a PDF name: "/" must be written as #2F inside a name (ISO 32000-1
# section 7.3.5), which reportlab's PDFName does not do for us.
MANIFEST_SUBTYPE = "/application#2Fjson"
# Custom key in the document information dictionary. Keys outside the standard set are
# allowed by ISO 32000-1 table 317 and survive in every reader we tried.
INFO_MANIFEST_KEY = "RegistryManifestSHA256"
INFO_REPORT_ID_KEY = "RegistryReportID"


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Serialise ``value`` canonically (sorted keys, compact separators, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def embed_manifest(canvas: Canvas, manifest_bytes: bytes) -> None:
    """Attach ``manifest_bytes`` to the PDF being built on ``canvas`` as ``manifest.json``.

    reportlab has no public API for document-level attachments, so the objects are built
    with its low-level ``pdfdoc`` classes; call before ``canvas.save()``.
    """
    document = canvas._doc
    params = PDFDictionary(
        {
            "Size": len(manifest_bytes),
            # /CheckSum is the MD5 of the uncompressed bytes, as the PDF format defines it;
            # integrity is judged by SHA-256 (recorded in the info dictionary), not by this.
            "CheckSum": PDFText(
                hashlib.md5(manifest_bytes, usedforsecurity=False).digest(), enc="raw"
            ),
        }
    )
    stream = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": MANIFEST_SUBTYPE,
                "Params": params,
            }
        ),
        content=manifest_bytes,
        filters=[PDFZCompress],
    )
    file_spec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(MANIFEST_NAME),
            "UF": PDFString(MANIFEST_NAME),
            "Desc": PDFString("Machine-readable report manifest (canonical JSON)"),
            "AFRelationship": PDFName("Data"),
            "EF": PDFDictionary({"F": document.Reference(stream)}),
        }
    )
    file_spec_ref = document.Reference(file_spec)
    embedded_files = PDFDictionary({"Names": PDFArray([PDFString(MANIFEST_NAME), file_spec_ref])})
    document.Catalog.Names = PDFDictionary({"EmbeddedFiles": embedded_files})
    # /AF is not among reportlab's known catalog keys; an attribute set on the instance is
    # ignored by its formatter, so the key list is extended for this catalog only.
    document.Catalog.__NoDefault__ = [*document.Catalog.__NoDefault__, "AF"]
    document.Catalog.AF = PDFArray([file_spec_ref])


class RegistryInfo(PDFInfo):
    """Document information dictionary with the registry's own keys added.

    ``extra`` maps key names to text values; they are written after the standard keys.
    """

    def __init__(self, extra: Mapping[str, str]) -> None:
        super().__init__()
        self.extra = dict(extra)

    def format(self, document: Any) -> bytes:
        entries: dict[str, Any] = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "Subject": PDFString(self.subject),
            "Keywords": PDFString(self.keywords),
            "Creator": PDFString(self.creator),
            "Producer": PDFString(self.producer),
            "Trapped": PDFName(self.trapped),
        }
        date = PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter)
        entries["CreationDate"] = entries["ModDate"] = date
        for key, value in self.extra.items():
            entries[key] = PDFString(value)
        return PDFDictionary(entries).format(document)


def install_info(canvas: Canvas, extra: Mapping[str, str]) -> None:
    """Replace the canvas's info dictionary by a :class:`RegistryInfo` keeping its values."""
    document = canvas._doc
    info = RegistryInfo(extra)
    for attribute, value in vars(document.info).items():
        setattr(info, attribute, value)
    info.extra = dict(extra)
    document.info = info
