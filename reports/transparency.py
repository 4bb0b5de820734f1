"""Transparency-log evidence in reports: built with the manifest, checked on verification.

At build time the registry signs a checkpoint of its current tree and embeds it with an
inclusion proof for each ledger entry the report relies on: the report's own entries,
every entry about a record the manifest cites, and the ledger head. A verifier checks
them from the file alone (``log_checkpoint_signed``, ``log_inclusion``); given a newer
checkpoint (``--against URL`` or ``--checkpoint FILE``) it also checks that the newer
tree extends the report's (``log_consistent``), so a report stays checkable as the log
grows and fails when history was rewritten.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from registry import transparency
from registry.models import LedgerEntry
from registry.tlog import merkle, note
from reports.models import Report
from reports.pdf.document import LedgerHead, LogProofs, Manifest, ProvenEntry
from reports.pdf.verify import VerificationResult

# Manifest id prefixes and the ledger object types they name.
CITED_TYPES = {
    "claim": "registry.benchmarkclaim",
    "incident": "registry.cloningincident",
    "analysis": "registry.fragilityanalysis",
    "evidence": "registry.evidence",
}
FETCH_TIMEOUT_SECONDS = 30


def _cited(report: Report, manifest: Manifest) -> dict[tuple[str, str], str]:
    """(object type, object id) -> the manifest id that cites it."""
    cited = {(Report._meta.label_lower, str(report.pk)): "report"}
    for item in [*manifest["subject_ids"], *manifest["analysis_ids"]]:
        prefix, _, key = item.partition(":")
        if prefix in CITED_TYPES:
            cited[(CITED_TYPES[prefix], key)] = item
    return cited


def log_proofs(report: Report, manifest: Manifest) -> LogProofs:
    """Sign a checkpoint now and prove the report's entries and the ledger head in it."""
    checkpoint = transparency.checkpoint_issue()
    size = checkpoint.tree_size
    cited = _cited(report, manifest)
    condition = Q(seq=manifest["ledger_head"]["seq"])
    for object_type, object_id in cited:
        condition |= Q(object_type=object_type, object_id=object_id)
    rows = LedgerEntry.objects.filter(condition, seq__lte=size).order_by("seq")
    entries: list[ProvenEntry] = []
    for seq, entry_hash, object_type, object_id in rows.values_list(
        "seq", "entry_hash", "object_type", "object_id"
    ):
        proof = transparency.tlog_inclusion(index=seq - 1, size=size)
        entries.append(
            {
                "seq": seq,
                "entry_hash": entry_hash,
                "cites": cited.get((object_type, object_id), "ledger_head"),
                "proof": [h.hex() for h in proof],
            }
        )
    return {"checkpoint": transparency.checkpoint_with_cosignatures(checkpoint), "entries": entries}


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewerCheckpoint:
    """A checkpoint to check the report's against, and where its consistency proof comes
    from: the log's API at ``url``, or (``url`` None) this registry's own tree."""

    note: str
    url: str | None = None


def fetch_latest_checkpoint(url: str) -> NewerCheckpoint:
    """The latest checkpoint served by the registry at ``url``."""
    base = url.rstrip("/")
    body = _fetch_json(f"{base}/api/v1/log/checkpoint/")
    return NewerCheckpoint(note=str(body.get("note", "")), url=base)


def _fetch_json(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def log_checks(result: VerificationResult, newer: NewerCheckpoint | None = None) -> None:
    """Add ``log_checkpoint_signed``, ``log_inclusion`` and (with ``newer``)
    ``log_consistent`` to ``result``."""
    block = (result.manifest or {}).get("transparency")
    if not isinstance(block, dict):
        reason = "the manifest carries no transparency-log checkpoint and proofs"
        result.add_check("log_checkpoint_signed", False, reason)
        result.add_check("log_inclusion", False, reason)
        return
    verifier = transparency.log_verifier()
    try:
        checkpoint = note.open_checkpoint(str(block.get("checkpoint", "")), verifier)
    except note.NoteError as error:
        result.add_check("log_checkpoint_signed", False, f"checkpoint: {error}")
        result.add_check("log_inclusion", False, "no verified checkpoint to prove against")
        return
    result.add_check(
        "log_checkpoint_signed",
        True,
        f"checkpoint of tree size {checkpoint.size} signed by {verifier.name}",
    )
    head = (result.manifest or {}).get("ledger_head") or {}
    problem = _inclusion_problem(block.get("entries"), checkpoint, head)
    result.add_check(
        "log_inclusion",
        problem is None,
        problem or f"all {len(block['entries'])} cited entries are in the signed tree",
    )
    if newer is not None:
        problem = _consistency_problem(checkpoint, newer, verifier)
        result.add_check(
            "log_consistent",
            problem is None,
            problem or f"the newer checkpoint extends the report's tree of size {checkpoint.size}",
        )


def _inclusion_problem(
    entries: Any, checkpoint: note.Checkpoint, head: LedgerHead | dict[str, Any]
) -> str | None:
    if not isinstance(entries, list) or not entries:
        return "the manifest proves no ledger entries"
    proven: dict[int, str] = {}
    for entry in entries:
        try:
            seq, entry_hash = int(entry["seq"]), str(entry["entry_hash"])
            leaf = merkle.leaf_hash(bytes.fromhex(entry_hash))
            proof = [bytes.fromhex(h) for h in entry["proof"]]
            merkle.verify_inclusion(seq - 1, checkpoint.size, leaf, proof, checkpoint.root)
        except (KeyError, TypeError, ValueError) as error:  # ProofError is a ValueError
            return f"entry #{entry.get('seq', '?') if isinstance(entry, dict) else '?'}: {error}"
        proven[seq] = entry_hash
    if proven.get(head.get("seq", -1)) != head.get("hash"):
        return (
            f"the ledger head #{head.get('seq')} {head.get('hash')} is not among the proven entries"
        )
    return None


def _consistency_problem(
    old: note.Checkpoint, newer: NewerCheckpoint, verifier: note.Verifier
) -> str | None:
    try:
        new = note.open_checkpoint(newer.note, verifier)
        proof = _consistency_proof(old.size, new.size, newer.url)
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (note.NoteError, merkle.ProofError, LookupError) as error:
        return (
            f"tree size {old.size} (root {old.root.hex()}) is not a prefix of the newer "
            f"checkpoint: {error}"
        )
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        return f"cannot fetch the consistency proof: {error}"
    return None


def _consistency_proof(old_size: int, new_size: int, url: str | None) -> list[bytes]:
    if old_size > new_size:
        raise merkle.ProofError(f"the newer checkpoint is smaller ({new_size} < {old_size})")
    if url is None:
        if new_size > transparency.tlog_size():
            raise LookupError(f"this registry's tree is smaller than {new_size}")
        return transparency.tlog_consistency(old_size=old_size, new_size=new_size)
    body = _fetch_json(f"{url}/api/v1/log/proof/consistency/?first={old_size}&second={new_size}")
    return [bytes.fromhex(h) for h in body["proof"]]
