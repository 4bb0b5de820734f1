"""A witness for the registry's log that needs only its public HTTP API.

A *witness* keeps the last checkpoint it verified. Each run it fetches the log's latest
checkpoint, checks the log's signature, and checks that the new tree extends the old one
(same size: same root; larger: a valid consistency proof; smaller: never). Only then
does it store the new checkpoint, cosign it (C2SP tlog-cosignature/v1) and post the
cosignature back. Uses the standard library's urllib, ``merkle`` and ``note`` only, so
an outside party can run it from this file and those two modules.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.tlog import merkle, note

TIMEOUT_SECONDS = 30


class WitnessError(Exception):
    """The run could not complete (network, bad answer, refused cosignature)."""


class LogMisbehavedError(WitnessError):
    """The log forked, shrank, rolled back or rewrote what this witness had verified."""


@dataclass(frozen=True)
class WitnessReport:
    previous_size: int | None
    checkpoint: note.Checkpoint
    cosignature: str
    posted: bool


def _fetch_json(url: str, data: dict[str, Any] | None = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        method="GET" if data is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise WitnessError(f"{url} answered {error.code}: {detail}") from error
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise WitnessError(f"{url}: {error}") from error


def load_or_create_key(path: Path, name: str) -> note.Signer:
    """The witness's cosigning key; a new one is written (mode 0600) when ``path`` is absent."""
    if path.exists():
        return note.Signer.from_skey(path.read_text(encoding="ascii"))
    signer = note.Signer.generate(name, note.ALG_COSIGNATURE_V1)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer.skey + "\n")
    return signer


@dataclass
class WitnessState:
    """What the witness remembers between runs: the log's key and the last checkpoint."""

    log_vkey: str | None = None
    checkpoint_note: str | None = None

    @classmethod
    def load(cls, path: Path) -> WitnessState:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data.get("log_vkey"), data.get("checkpoint"))
        except (OSError, ValueError) as error:
            raise WitnessError(f"state file {path} is unreadable: {error}") from error

    def save(self, path: Path) -> None:
        """Write atomically: a crash never leaves a half-written state."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        data = {"log_vkey": self.log_vkey, "checkpoint": self.checkpoint_note}
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)


def check_extends(base_url: str, old: note.Checkpoint | None, new: note.Checkpoint) -> None:
    """Raise :class:`LogMisbehavedError` unless ``new`` extends ``old`` (fetching the proof)."""
    if old is None:
        return
    if new.size < old.size:
        raise LogMisbehavedError(
            f"the log shrank or rolled back: it now serves tree size {new.size}, but this "
            f"witness verified size {old.size} (root {old.root.hex()})"
        )
    if new.size == old.size:
        if new.root != old.root:
            raise LogMisbehavedError(
                f"the log forked: tree size {new.size} now has root {new.root.hex()}, "
                f"but this witness verified root {old.root.hex()}"
            )
        return
    answer = _fetch_json(
        f"{base_url}/api/v1/log/proof/consistency/?first={old.size}&second={new.size}"
    )
    try:
        proof = [bytes.fromhex(h) for h in answer["proof"]]
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (KeyError, TypeError, ValueError) as error:  # ProofError is a ValueError
        raise LogMisbehavedError(
            f"the log forked or rewrote history: tree size {new.size} (root "
            f"{new.root.hex()}) is not an extension of size {old.size} (root "
            f"{old.root.hex()}): {error}"
        ) from error


def run_witness(
    base_url: str,
    *,
    state_path: Path,
    signer: note.Signer,
    log_vkey: str | None = None,
    post: bool = True,
) -> WitnessReport:
    """One witness round against the log at ``base_url`` (e.g. ``https://registry.example``)."""
    base_url = base_url.rstrip("/")
    state = WitnessState.load(state_path)
    vkey = log_vkey or state.log_vkey
    if vkey is None:
        raise WitnessError("give the log's vkey (--log-vkey) on the first run")
    if state.log_vkey and state.log_vkey != vkey:
        raise WitnessError("the log's vkey differs from the one this witness recorded")
    verifier = note.Verifier.from_vkey(vkey)
    old = note.open_checkpoint(state.checkpoint_note, verifier) if state.checkpoint_note else None
    served = _fetch_json(f"{base_url}/api/v1/log/checkpoint/")
    try:
        new = note.open_checkpoint(served["note"], verifier)
    except (KeyError, TypeError, note.NoteError) as error:
        raise LogMisbehavedError(f"the log's checkpoint does not verify: {error}") from error
    check_extends(base_url, old, new)
    WitnessState(vkey, served["note"]).save(state_path)
    line = signer.cosign(new.body, int(time.time()))
    if post:
        _fetch_json(
            f"{base_url}/api/v1/log/checkpoints/{new.size}/cosignatures/", {"cosignature": line}
        )
    return WitnessReport(old.size if old else None, new, line, post)
