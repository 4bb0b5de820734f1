"""The transparency log over the ledger: stored tree nodes, checkpoints, cosignatures."""

from __future__ import annotations

import datetime as dt

from django.db import models

# A node's position packs (level, index) into one key: level * 2**48 + index. 2**48
# leaves is far beyond any ledger, and one primary-key lookup per node keeps proofs fast.
LEVEL_STRIDE = 1 << 48


def node_position(level: int, index: int) -> int:
    return level * LEVEL_STRIDE + index


class TreeNode(models.Model):
    """A *tree node* is the root hash of one complete subtree of the ledger's Merkle tree
    (RFC 9162 section 2.1): the 2**level leaves starting at leaf ``index * 2**level``.
    Leaf n (level 0) is SHA-256(0x00 || bytes of ledger entry n+1's ``entry_hash``).
    Nodes are written with the ledger entry that completes them and never change, so a
    proof or a root reads O(log n) of them (see ``registry.tlog.merkle``)."""

    position = models.PositiveBigIntegerField(primary_key=True)
    digest = models.BinaryField(max_length=32)

    class Meta:
        indexes = [
            # Finding a leaf by its hash (inclusion proofs by leaf hash); leaves only.
            models.Index(
                fields=["digest"],
                condition=models.Q(position__lt=LEVEL_STRIDE),
                name="tlog_leaf_digest_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"node ({self.level}, {self.index})"

    @property
    def level(self) -> int:
        return self.position // LEVEL_STRIDE

    @property
    def index(self) -> int:
        return self.position % LEVEL_STRIDE


class Checkpoint(models.Model):
    """A *checkpoint* is the log's signed statement of its tree size and root hash, in
    the C2SP tlog-checkpoint format; ``note`` is the signed note exactly as served."""

    tree_size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tree_size"]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"


class Cosignature(models.Model):
    """A *cosignature* is a witness's C2SP tlog-cosignature/v1 over one checkpoint: its
    statement that it verified the checkpoint consistent with everything it saw before."""

    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.PROTECT, related_name="cosignatures"
    )
    witness = models.CharField(max_length=200)
    key_id = models.CharField(max_length=8)
    timestamp = models.PositiveBigIntegerField()
    line = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["checkpoint", "witness"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "key_id"], name="tlog_one_cosignature_per_witness"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.witness} on {self.checkpoint}"

    @property
    def signed_at(self) -> dt.datetime:
        """The witness's own time of cosigning (``timestamp``, POSIX seconds), in UTC."""
        return dt.datetime.fromtimestamp(self.timestamp, tz=dt.UTC)
