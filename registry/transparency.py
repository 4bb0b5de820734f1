"""The transparency log over the ledger: its Merkle tree, checkpoints and cosignatures.

Leaf n of the tree (0-based) is SHA-256(0x00 || bytes of ledger entry n+1's
``entry_hash``), so the tree has exactly as many leaves as the ledger has entries.
``tlog_append`` stores the new complete subtrees in the transaction that appends the
entry (``ledger_append`` calls it), so tree and ledger never disagree; proofs and roots
read O(log n) stored nodes in one query (``registry.tlog.merkle``).

A *checkpoint* (C2SP tlog-checkpoint) signs the tree size and root with the log key
(``TLOG_SIGNING_KEY_FILE``; a development key under DEBUG and tests). Witnesses whose
vkeys are in ``TLOG_WITNESS_VKEYS`` may add cosignatures (C2SP tlog-cosignature).
"""

from __future__ import annotations

import base64
import functools
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction

from registry.models import Checkpoint, Cosignature, LedgerEntry, TreeNode
from registry.models.tlog import LEVEL_STRIDE, node_position
from registry.tlog import merkle, note
from registry.tlog.merkle import NodeKey

DEV_ORIGIN = "dev.evidence-registry.invalid/log-INSECURE-NOT-TRUSTED"


# --- the tree -----------------------------------------------------------------------------


def entry_leaf(entry_hash: str) -> bytes:
    """The leaf hash of a ledger entry with this (hex) ``entry_hash``."""
    return merkle.leaf_hash(bytes.fromhex(entry_hash))


def tlog_nodes(keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """The stored nodes among ``keys``, in one query.

    Every proof request runs this with some 20 to 40 positions. Written as SQL, not as
    ``filter(position__in=...)``: the ORM prepares each value of an ``IN`` list on its
    own, which cost more CPU than the rest of the query (0.43 against 0.19 ms a proof at
    a million entries, measured).
    """
    positions = sorted({node_position(level, index) for level, index in keys})
    if not positions:
        return {}
    placeholders = ", ".join(["%s"] * len(positions))
    table, position, digest = map(
        connection.ops.quote_name, (TreeNode._meta.db_table, "position", "digest")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {position}, {digest} FROM {table} WHERE {position} IN ({placeholders})",
            positions,
        )
        rows = cursor.fetchall()
    return {divmod(position, LEVEL_STRIDE): bytes(digest) for position, digest in rows}


def _node(key: NodeKey, digest: bytes) -> TreeNode:
    return TreeNode(position=node_position(*key), digest=digest)


def tlog_append(*, entry: LedgerEntry) -> None:
    """Add ``entry``'s leaf to the tree, in the caller's transaction (after the entry)."""
    size = entry.seq - 1
    siblings = tlog_nodes(merkle.append_keys(size))
    created = merkle.append_nodes(size, entry_leaf(entry.entry_hash), siblings)
    TreeNode.objects.bulk_create([_node(key, digest) for key, digest in created])


def tlog_size() -> int:
    """The number of leaves in the stored tree."""
    leaves = TreeNode.objects.filter(position__lt=LEVEL_STRIDE).order_by("-position")
    last = leaves.values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def tlog_root(size: int) -> bytes:
    return merkle.tree_root(tlog_nodes, size)


def tlog_inclusion(*, index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(tlog_nodes, index, size)


def tlog_leaf_and_inclusion(*, index: int, size: int) -> tuple[bytes, list[bytes]]:
    """Leaf ``index``'s hash and audit path, read in one query."""
    fetched: dict[NodeKey, bytes] = {}

    def read_with_leaf(keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        fetched.update(tlog_nodes([*keys, (0, index)]))
        return fetched

    proof = merkle.inclusion_proof(read_with_leaf, index, size)
    return fetched[(0, index)], proof


def tlog_consistency(*, old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(tlog_nodes, old_size, new_size)


def tlog_leaves(*, first: int, last: int) -> list[tuple[int, bytes]]:
    """(index, leaf hash) of leaves ``first`` to ``last`` (0-based, inclusive)."""
    rows = TreeNode.objects.filter(position__gte=first, position__lte=last).order_by("position")
    return [(index, bytes(digest)) for index, digest in rows.values_list("position", "digest")]


def tlog_leaf_index(leaf: bytes) -> int | None:
    """The index of the leaf with this hash, or None."""
    leaves = TreeNode.objects.filter(position__lt=LEVEL_STRIDE, digest=leaf)
    return leaves.values_list("position", flat=True).first()


def tlog_rebuild() -> int:
    """Recompute every node from the ledger (after a migration or repair); the size."""
    tree = merkle.MemoryTree()
    for entry_hash in LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True):
        tree.append(entry_leaf(entry_hash))
    with transaction.atomic():
        TreeNode.objects.all().delete()
        TreeNode.objects.bulk_create(
            [_node(key, digest) for key, digest in tree.nodes.items()],
            batch_size=5000,
        )
    return tree.size


# --- keys ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def log_signer() -> note.Signer:
    """The checkpoint key: ``TLOG_SIGNING_KEY_FILE``, else (DEBUG, tests) a development key
    made on first use. Call ``log_signer.cache_clear()`` after changing the settings."""
    if settings.TLOG_SIGNING_KEY_FILE:
        path = Path(settings.TLOG_SIGNING_KEY_FILE)
    elif settings.DEBUG or settings.TESTING:
        path = ensure_dev_log_key(Path(settings.TLOG_DEV_KEY_DIR))
    else:
        raise ImproperlyConfigured("TLOG_SIGNING_KEY_FILE must be set when DEBUG is off")
    try:
        return note.Signer.from_skey(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError, note.NoteError) as error:
        raise ImproperlyConfigured(f"TLOG_SIGNING_KEY_FILE {path}: {error}") from error


def ensure_dev_log_key(directory: Path) -> Path:
    """The development checkpoint key file in ``directory``, created on first use."""
    path = directory / "checkpoint.key"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    signer = note.Signer.generate(DEV_ORIGIN)
    # Written whole under a temporary name, then linked into place: link() fails if the key
    # exists, so two processes starting at once keep one key, and no reader sees it half written.
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint.key.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(signer.skey + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return path  # another process's key won; its vkey file is its to write
    finally:
        os.unlink(temporary)
    (directory / "checkpoint.vkey").write_text(signer.verifier.vkey + "\n", encoding="ascii")
    return path


def log_verifier() -> note.Verifier:
    return log_signer().verifier


def witness_verifiers() -> dict[str, note.Verifier]:
    """The witnesses whose cosignatures are accepted, by key id (hex)."""
    verifiers = [note.Verifier.from_vkey(vkey) for vkey in settings.TLOG_WITNESS_VKEYS]
    return {v.key_id.hex(): v for v in verifiers if v.algorithm == note.ALG_COSIGNATURE_V1}


# --- checkpoints --------------------------------------------------------------------------


def checkpoint_issue() -> Checkpoint:
    """Sign the current tree (or return the checkpoint that already signs this size).

    The size is read before the nodes; nodes of a committed size never change, so no
    lock is needed to read a consistent root.
    """
    size = tlog_size()
    existing = Checkpoint.objects.filter(tree_size=size).first()
    if existing is not None:
        return existing
    root = tlog_root(size)
    body = note.Checkpoint(log_signer().name, size, root).body
    try:
        with transaction.atomic():
            return Checkpoint.objects.create(
                tree_size=size, root_hash=root.hex(), note=log_signer().sign_note(body)
            )
    except IntegrityError:  # another process signed the same size first
        return Checkpoint.objects.get(tree_size=size)


def checkpoint_issue_if_grown() -> Checkpoint | None:
    """A new checkpoint when the tree grew since the latest one (the beat task)."""
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size >= tlog_size():
        return None
    return checkpoint_issue()


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def cosignature_record(*, checkpoint: Checkpoint, line: str) -> Cosignature:
    """Verify a witness's cosignature line over ``checkpoint`` and store it.

    Raises ``ValidationError`` naming the problem for a malformed line, an unknown
    witness or a signature that does not verify. The same witness again replaces
    nothing: its first cosignature of a checkpoint stands.
    """
    try:
        parsed = note.parse_signature_line(line)
        verifier = witness_verifiers().get(parsed.key_id.hex())
        if verifier is None:
            raise note.NoteError(f"{parsed.name} ({parsed.key_id.hex()}) is not a known witness")
        body, _ = note.split_note(checkpoint.note)
        cosigned = note.verify_cosignature(body, line, verifier)
    except note.NoteError as error:
        raise ValidationError({"cosignature": str(error)}) from error
    cosignature, _ = Cosignature.objects.get_or_create(
        checkpoint=checkpoint,
        key_id=cosigned.key_id,
        defaults={"witness": cosigned.name, "timestamp": cosigned.timestamp, "line": cosigned.line},
    )
    return cosignature


def checkpoint_with_cosignatures(checkpoint: Checkpoint) -> str:
    """The signed note with every stored cosignature line appended."""
    lines = "".join(c.line for c in checkpoint.cosignatures.all())
    return checkpoint.note + lines


def root_b64(checkpoint: Checkpoint) -> str:
    return base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode()


# --- checking the tree against the ledger and the checkpoints -----------------------------


@dataclass(frozen=True)
class TreeProblem:
    reason: str


def tlog_verify() -> TreeProblem | None:
    """Recompute the tree from the ledger; compare it with the stored nodes and with
    every stored checkpoint (signature, root), and each checkpoint with the next."""
    tree = merkle.MemoryTree()
    for seq, entry_hash in LedgerEntry.objects.order_by("seq").values_list("seq", "entry_hash"):
        tree.append(entry_leaf(entry_hash))
        if seq != tree.size:
            return TreeProblem(f"ledger entry #{tree.size} is missing")
    stored = {
        divmod(position, LEVEL_STRIDE): bytes(digest)
        for position, digest in TreeNode.objects.values_list("position", "digest")
    }
    if stored != tree.nodes:
        wrong = sorted(
            k for k in stored.keys() | tree.nodes.keys() if stored.get(k) != tree.nodes.get(k)
        )
        return TreeProblem(
            f"{len(wrong)} stored tree nodes differ from the ledger, "
            f"first at (level, index) {wrong[0]}"
        )
    return _checkpoints_problem(tree)


def _checkpoints_problem(tree: merkle.MemoryTree) -> TreeProblem | None:
    verifier = log_verifier()
    for checkpoint in Checkpoint.objects.order_by("tree_size"):
        try:
            signed = note.open_checkpoint(checkpoint.note, verifier)
        except note.NoteError as error:
            return TreeProblem(f"checkpoint {checkpoint.tree_size}: {error}")
        if signed.size > tree.size:
            return TreeProblem(
                f"checkpoint {signed.size} is larger than the tree ({tree.size} leaves): "
                "the ledger lost entries"
            )
        if tree.root(signed.size) != signed.root:
            return TreeProblem(
                f"the ledger's first {signed.size} entries no longer match the signed "
                f"checkpoint {signed.size} (root {signed.root.hex()})"
            )
    return None
