"""Signed notes (C2SP signed-note), checkpoints (C2SP tlog-checkpoint) and cosignatures
(C2SP tlog-cosignature), with Ed25519 keys.

A *checkpoint* is the note body ``<origin>\\n<tree size>\\n<base64 root hash>\\n``; a
*signed note* appends a blank line and one line per signature,
``— <key name> base64(key id || signature)``. The key id of an Ed25519 note key is
SHA-256(name || 0x0A || 0x01 || public key)[:4]; the signature covers the body.

A *cosignature* (cosignature/v1) is a note signature whose key id uses 0x04 instead of
0x01 and whose payload is an 8-byte big-endian timestamp followed by an Ed25519 signature
over ``cosignature/v1\\ntime <timestamp>\\n`` + body.

Keys are written as the Go ``note`` package writes them, so that other tools read them:
a verifier key (*vkey*) is ``<name>+<hex key id>+base64(0x01 || public key)`` and a
signer key ``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space
COSIGNATURE_HEADER = "cosignature/v1\n"


class NoteError(ValueError):
    """A note, key or signature is malformed or does not verify."""


def _key_id(name: str, algorithm: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError(f"{what} is not valid base64: {error}") from error


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key for notes (0x01) or cosignatures (0x04)."""

    name: str
    algorithm: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.algorithm, self.public)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.algorithm]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``name+keyid+base64``; refuse unknown algorithms and wrong key ids."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"verifier key {vkey!r} is not name+keyid+key")
        name, key_id, material = parts
        _check_name(name)
        raw = _b64decode(material, "verifier key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("verifier key is not an Ed25519 note or cosignature/v1 key")
        verifier = cls(name=name, algorithm=raw[0], public=raw[1:])
        if verifier.key_id.hex() != key_id.lower():
            raise NoteError(f"verifier key id {key_id} does not match its key")
        return verifier

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key that signs notes or cosigns checkpoints."""

    name: str
    algorithm: int
    seed: bytes

    @classmethod
    def generate(cls, name: str, algorithm: int = ALG_ED25519) -> Signer:
        _check_name(name)
        key = Ed25519PrivateKey.generate()
        return cls(
            name, algorithm, key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        )

    @classmethod
    def from_skey(cls, text: str) -> Signer:
        """Parse ``PRIVATE+KEY+name+keyid+base64(alg || seed)``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key is not PRIVATE+KEY+name+keyid+key")
        name, key_id, material = parts[2:]
        _check_name(name)
        raw = _b64decode(material, "signer key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(name, raw[0], raw[1:])
        if signer.verifier.key_id.hex() != key_id.lower():
            raise NoteError(f"signer key id {key_id} does not match its key")
        return signer

    @property
    def skey(self) -> str:
        material = base64.b64encode(bytes([self.algorithm]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{material}"

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.algorithm, public)

    def sign_note(self, body: str) -> str:
        """The signed note: ``body``, a blank line and this key's signature line."""
        if self.algorithm != ALG_ED25519:
            raise NoteError("a cosignature/v1 key signs only cosignatures")
        signature = self._private.sign(body.encode())
        return f"{body}\n{signature_line(self.name, self.verifier.key_id + signature)}"

    def cosign(self, body: str, timestamp: int) -> str:
        """A cosignature/v1 signature line over the checkpoint ``body`` at ``timestamp``."""
        if self.algorithm != ALG_COSIGNATURE_V1:
            raise NoteError("only a cosignature/v1 key cosigns")
        signature = self._private.sign(_cosigned_message(body, timestamp))
        payload = self.verifier.key_id + timestamp.to_bytes(8, "big") + signature
        return signature_line(self.name, payload)


def _cosigned_message(body: str, timestamp: int) -> bytes:
    if not 0 <= timestamp < 2**63:
        raise NoteError(f"cosignature timestamp {timestamp} is out of range")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def signature_line(name: str, payload: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(payload).decode()}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    payload: bytes  # after the key id
    text: str


def parse_signature_line(line: str) -> SignatureLine:
    """Split ``— name base64`` into its parts (no verification)."""
    text = line.rstrip("\n")
    if not text.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"signature line {text!r} does not start with an em dash and a space")
    fields = text[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise NoteError(f"signature line {text!r} is not '— <name> <base64>'")
    raw = _b64decode(fields[1], "signature")
    if len(raw) < 5:
        raise NoteError("signature is too short")
    return SignatureLine(fields[0], raw[:4], raw[4:], text + "\n")


def split_note(note: str) -> tuple[str, list[SignatureLine]]:
    """The body (ending in a newline) and the signature lines of a signed note."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise NoteError("a signed note needs a blank line before its signatures")
    lines = [line for line in signatures.split("\n") if line]
    if not lines:
        raise NoteError("the note carries no signature")
    return body + "\n", [parse_signature_line(line) for line in lines]


def verify_note(note: str, verifier: Verifier) -> str:
    """The body of ``note`` when it carries a valid signature by ``verifier``."""
    body, lines = split_note(note)
    for line in lines:
        if line.name == verifier.name and line.key_id == verifier.key_id:
            if verifier.verifies(body.encode(), line.payload):
                return body
            raise NoteError(f"the signature by {verifier.name} does not verify")
    raise NoteError(f"the note carries no signature by {verifier.name}")


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who, when, and the line as it appeared."""

    name: str
    key_id: str
    timestamp: int
    line: str


def verify_cosignature(body: str, line: str, verifier: Verifier) -> Cosignature:
    """Check a cosignature/v1 line over checkpoint ``body`` against ``verifier``."""
    parsed = parse_signature_line(line)
    if parsed.name != verifier.name or parsed.key_id != verifier.key_id:
        raise NoteError(f"the cosignature is by {parsed.name}, not by {verifier.name}")
    if len(parsed.payload) != 8 + 64:
        raise NoteError("a cosignature/v1 is a timestamp and a 64-byte signature")
    timestamp = int.from_bytes(parsed.payload[:8], "big")
    if not verifier.verifies(_cosigned_message(body, timestamp), parsed.payload[8:]):
        raise NoteError(f"the cosignature by {verifier.name} does not verify")
    return Cosignature(verifier.name, verifier.key_id.hex(), timestamp, parsed.text)


# --- checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The first three lines of a C2SP tlog-checkpoint."""

    origin: str
    size: int
    root: bytes

    @property
    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Read a checkpoint body; extension lines are refused (this log writes none)."""
        lines = body.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a checkpoint body is exactly three newline-terminated lines")
        origin, size_text, root_text = lines[:3]
        if not origin:
            raise NoteError("checkpoint line 1 (origin) is empty")
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError(f"checkpoint line 2 (tree size) {size_text!r} is not a decimal")
        root = _b64decode(root_text, "checkpoint line 3 (root hash)")
        if len(root) != 32:
            raise NoteError("checkpoint line 3 (root hash) is not 32 bytes")
        return cls(origin, int(size_text), root)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint's signature and origin; return its contents."""
    checkpoint = Checkpoint.parse(verify_note(note, verifier))
    expected = origin or verifier.name
    if checkpoint.origin != expected:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint
