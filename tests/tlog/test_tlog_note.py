"""Signed notes, checkpoints and cosignatures against published vectors.

Vectors: golang.org/x/mod/sumdb/note's documented example (the PeterNeumann key and
note), and transparency-dev/formats' note/note_cosigv1_test.go (a cosignature/v1 vkey
with algorithm 0x04, a vkey whose base64 holds a '+', and a cosignature's timestamp).
"""

from __future__ import annotations

import base64

import pytest

from registry.tlog import note
from registry.tlog.note import Checkpoint, NoteError, Signer, Verifier

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1F"
    "FYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_reproduces_the_go_note_example_byte_for_byte() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert signer.verifier.vkey == GO_VKEY
    assert signer.sign_note(GO_TEXT) == GO_NOTE
    assert note.verify_note(GO_NOTE, Verifier.from_vkey(GO_VKEY)) == GO_TEXT


def test_published_vkeys_parse_and_their_key_ids_match() -> None:
    cosigner = Verifier.from_vkey(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert cosigner.algorithm == note.ALG_COSIGNATURE_V1
    plus = Verifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert plus.algorithm == note.ALG_ED25519


@pytest.mark.parametrize(
    ("vkey", "problem"),
    [
        ("bananas.sigstore.dev+12344556", "not name\\+keyid\\+key"),
        ("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!", "not valid base64"),
        ("rekor.sigstore.dev+12345678+AwEB", "not an Ed25519"),
        (GO_VKEY.replace("c74f20a3", "00000000"), "does not match its key"),
    ],
)
def test_bad_vkeys_are_refused_with_the_reason(vkey: str, problem: str) -> None:
    with pytest.raises(NoteError, match=problem):
        Verifier.from_vkey(vkey)


def test_a_published_cosignature_carries_its_timestamp() -> None:
    payload = base64.b64decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA=="
    )
    line = note.parse_signature_line(note.signature_line("w", payload))
    assert int.from_bytes(line.payload[:8], "big") == 1727964367


def test_a_tampered_note_or_a_stranger_key_fails() -> None:
    verifier = Verifier.from_vkey(GO_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        note.verify_note(GO_NOTE.replace("cryptography", "cryptograph!"), verifier)
    stranger = Signer.generate("PeterNeumann").verifier
    with pytest.raises(NoteError, match="no signature by PeterNeumann"):
        note.verify_note(GO_NOTE, stranger)


def test_checkpoints_round_trip_and_bad_bodies_name_the_line() -> None:
    log = Signer.generate("example.com/log")
    body = Checkpoint("example.com/log", 20852163, bytes(range(32))).body
    signed = log.sign_note(body)
    assert note.open_checkpoint(signed, log.verifier) == Checkpoint.parse(body)
    with pytest.raises(NoteError, match="line 2"):
        Checkpoint.parse("example.com/log\n012\nAAAA\n")
    with pytest.raises(NoteError, match="line 3"):
        Checkpoint.parse("example.com/log\n12\nAAAA\n")
    other = Signer.generate("other.example/log")
    with pytest.raises(NoteError, match="origin"):
        note.open_checkpoint(other.sign_note(body), other.verifier)


def test_a_cosignature_verifies_over_the_checkpoint_and_nothing_else() -> None:
    log = Signer.generate("example.com/log")
    witness = Signer.generate("witness.example/w1", note.ALG_COSIGNATURE_V1)
    body = Checkpoint("example.com/log", 7, bytes(32)).body
    line = witness.cosign(body, 1_700_000_000)
    cosigned = note.verify_cosignature(body, line, witness.verifier)
    assert (cosigned.name, cosigned.timestamp) == ("witness.example/w1", 1_700_000_000)
    # The signed message is "cosignature/v1\ntime <t>\n" + body, checked independently.
    raw = note.parse_signature_line(line).payload
    assert witness.verifier.verifies(b"cosignature/v1\ntime 1700000000\n" + body.encode(), raw[8:])
    other_body = Checkpoint("example.com/log", 8, bytes(32)).body
    with pytest.raises(NoteError, match="does not verify"):
        note.verify_cosignature(other_body, line, witness.verifier)
    # A cosignature is not a note signature, and a log key cannot cosign.
    with pytest.raises(NoteError):
        note.verify_note(log.sign_note(body) + line, witness.verifier)
    with pytest.raises(NoteError, match="only a cosignature/v1 key"):
        log.cosign(body, 1)
