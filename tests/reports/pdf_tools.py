"""Helpers that run the independent PDF tools (poppler, OpenSSL) the report tests rely on.

A missing tool fails the test loudly instead of skipping it: CI installs poppler-utils and
openssl, and a proof that silently does not run is no proof.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def run_tool(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command-line tool and capture its text output."""
    executable = shutil.which(str(args[0]))
    if executable is None:
        pytest.fail(f"{args[0]} is not installed (apt-get install poppler-utils openssl)")
    return subprocess.run(
        [executable, *map(str, args[1:])], capture_output=True, text=True, check=check, timeout=60
    )


def pdf_text(path: Path) -> list[str]:
    """The text of each page, in order (pdftotext separates pages with form feeds)."""
    output = run_tool("pdftotext", "-layout", path, "-", check=True).stdout
    return output.split("\f")[:-1]


def page_count(path: Path) -> int:
    """The page count poppler reports."""
    info = run_tool("pdfinfo", path, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def der_length(data: bytes) -> int:
    """Length of the DER value at the start of ``data`` (X.690 section 8.1.3), by hand."""
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def split_signed_pdf(data: bytes) -> tuple[bytes, bytes]:
    """(signed bytes, DER signature) of the last signature, read from /ByteRange directly."""
    start1, length1, start2, length2 = map(int, BYTE_RANGE.findall(data)[-1])
    signed = data[start1 : start1 + length1] + data[start2 : start2 + length2]
    hex_contents = data[start1 + length1 + 1 : start2 - 1]  # strip the < and > delimiters
    raw = bytes.fromhex(hex_contents.decode("ascii"))
    return signed, raw[: der_length(raw)]


def openssl_cms_verify(
    data: bytes, ca_file: Path, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """``openssl cms -verify`` of the detached signature over the signed byte range."""
    signed, signature = split_signed_pdf(data)
    content_file, signature_file = workdir / "signed-range.bin", workdir / "signature.der"
    content_file.write_bytes(signed)
    signature_file.write_bytes(signature)
    return run_tool(
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        signature_file,
        "-content",
        content_file,
        "-CAfile",
        ca_file,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    )


def pdfsig_says_valid(path: Path) -> bool:
    """True when pdfsig reports the signature value valid (it exits 0 either way)."""
    output = run_tool("pdfsig", path).stdout
    return "Signature Validation: Signature is Valid." in output


def all_signed_ranges(data: bytes) -> list[tuple[str, bytes, bytes]]:
    """(type, signed bytes, DER) of every signature in file order, read from the raw bytes.

    The type is the signature dictionary's /Type: ``/Sig`` for a signature, ``/DocTimeStamp``
    for a document timestamp (an RFC 3161 token over the byte range).
    """
    found = []
    for match in BYTE_RANGE.finditer(data):
        start1, length1, start2, length2 = map(int, match.groups())
        signed = data[start1 : start1 + length1] + data[start2 : start2 + length2]
        raw = bytes.fromhex(data[start1 + length1 + 1 : start2 - 1].decode("ascii"))
        # pyHanko writes /Contents first, then /ByteRange, then the rest of the dictionary.
        end = data.find(b">>", match.end())
        kind = re.search(rb"/Type\s*(/\w+)", data[match.end() : end])
        found.append((kind.group(1).decode() if kind else "?", signed, raw[: der_length(raw)]))
    return found


def openssl_verify_every_signature(data: bytes, ca_file: Path, workdir: Path) -> list[bool]:
    """``openssl cms -verify`` on each signature, ``openssl ts -verify`` on each timestamp."""
    verdicts = []
    for index, (kind, signed, der) in enumerate(all_signed_ranges(data)):
        content_file, signature_file = workdir / f"range{index}.bin", workdir / f"sig{index}.der"
        content_file.write_bytes(signed)
        signature_file.write_bytes(der)
        if kind == "/DocTimeStamp":
            args: tuple[str | Path, ...] = ("ts", "-verify", "-data", content_file)
            args += ("-in", signature_file, "-token_in", "-CAfile", ca_file)
        else:
            args = ("cms", "-verify", "-binary", "-inform", "DER", "-in", signature_file)
            args += ("-content", content_file, "-CAfile", ca_file, "-purpose", "any")
            args += ("-out", "/dev/null")
        result = run_tool("openssl", *args)
        verdicts.append(result.returncode == 0 and "Verif" in result.stdout + result.stderr)
    return verdicts


def pdfsig_signatures(path: Path) -> list[dict[str, str]]:
    """Each signature pdfsig lists, as its ``- Key: value`` lines (it exits 0 either way)."""
    output = run_tool("pdfsig", path).stdout
    blocks = re.split(r"^Signature #\d+:$", output, flags=re.MULTILINE)[1:]
    parsed = []
    for block in blocks:
        fields = {}
        for line in block.splitlines():
            key, separator, value = line.strip().removeprefix("- ").partition(": ")
            if separator:
                fields[key] = value
            elif line.strip():
                fields[line.strip().removeprefix("- ")] = ""
        parsed.append(fields)
    return parsed
