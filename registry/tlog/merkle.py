"""Merkle tree hashing, inclusion and consistency proofs as RFC 9162 section 2.1 defines them.

A *log* of n leaves has the root MTH(D[n]) of RFC 9162 section 2.1.1: a leaf hashes as
SHA-256(0x00 || data), an interior node as SHA-256(0x01 || left || right), and a tree of
n > 1 leaves splits at k, the largest power of two smaller than n.

Storage is by *complete subtrees*: the node at ``(level, index)`` is the root of the
2**level leaves starting at ``index * 2**level``. Appending leaf n creates the node
(0, n) and one node per trailing 1-bit of n, each from the *frontier* (the complete
subtrees that the binary digits of n decompose the tree into), so an append reads and
writes O(log n) nodes and never recomputes the tree. Proofs read O(log n) nodes: which
ones depends only on the sizes, never on hash values, so a proof names them all first
and a database-backed store answers in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
NodeKey = tuple[int, int]  # (level, index)
NodeReader = Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 section 2.1.1: MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root of a tree whose complete subtrees (largest first) are ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def append_keys(size: int) -> list[NodeKey]:
    """The frontier nodes that appending leaf number ``size`` combines with."""
    return [(level, (size >> level) - 1) for level in range(_trailing_ones(size))]


def _trailing_ones(value: int) -> int:
    return (~value & (value + 1)).bit_length() - 1


def append_nodes(
    size: int, leaf: bytes, left_siblings: Mapping[NodeKey, bytes]
) -> list[tuple[NodeKey, bytes]]:
    """The nodes created by appending ``leaf`` (a leaf hash) to a tree of ``size`` leaves.

    ``left_siblings`` must hold the nodes named by :func:`append_keys(size) <append_keys>`.
    """
    created: list[tuple[NodeKey, bytes]] = [((0, size), leaf)]
    current = leaf
    for level in range(_trailing_ones(size)):
        current = node_hash(left_siblings[(level, (size >> level) - 1)], current)
        created.append(((level + 1, size >> (level + 1)), current))
    return created


# --- proof generation over stored complete subtrees ---------------------------------------
#
# A proof is a list of subtree hashes MTH(D[start:end]), for ranges that RFC 9162's
# recursion produces and that depend only on the sizes. Such a range is ``start`` aligned
# on its largest power of two, so it splits into complete subtrees of decreasing size
# (``_range_keys``), and MTH of the range folds their hashes from the right, as the
# recursion's "split at the largest power of two" does. A proof therefore names its
# ranges, reads every complete subtree of every range in one call of the store, and
# folds: one pass, no hashing until the nodes are read.

Range = tuple[int, int]  # [start, end) of leaf indices


def _range_keys(start: int, end: int) -> list[NodeKey]:
    """The complete subtrees D[start:end] splits into, largest first (for D[0:n], the
    frontier of the tree of n leaves)."""
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _path_ranges(index: int, size: int) -> list[Range]:
    """RFC 9162 section 2.1.3.1 PATH(index, D[0:size]): the sibling ranges, leaf first."""
    siblings: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            siblings.append((start + k, end))
            end = start + k
        else:
            siblings.append((start, start + k))
            start += k
    return siblings[::-1]


def _consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """RFC 9162 section 2.1.4.1 SUBPROOF(old_size, D[0:new_size], true), as ranges."""
    siblings: list[Range] = []
    start, end, complete = 0, new_size, True
    while old_size != end:
        k = _split(end - start)
        if old_size - start <= k:
            siblings.append((start + k, end))
            end = start + k
        else:
            siblings.append((start, start + k))
            start += k
            complete = False
    return ([] if complete else [(start, end)]) + siblings[::-1]


def _range_hashes(read: NodeReader, ranges: Sequence[Range]) -> list[bytes]:
    """MTH(D[start:end]) of each range, from one read of the store."""
    keys = [_range_keys(start, end) for start, end in ranges]
    nodes = read([key for subtrees in keys for key in subtrees])
    missing = [key for subtrees in keys for key in subtrees if key not in nodes]
    if missing:
        raise LookupError(f"the tree store lacks nodes {missing[:5]}")
    return [root_from_frontier([nodes[key] for key in subtrees]) for subtrees in keys]


def inclusion_proof(read: NodeReader, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` (0-based) in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    return _range_hashes(read, _path_ranges(index, size))


def consistency_proof(read: NodeReader, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the tree of ``old_size`` leaves is a prefix of the one of ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return _range_hashes(read, _consistency_ranges(old_size, new_size))


def tree_root(read: NodeReader, size: int) -> bytes:
    """MTH of the first ``size`` leaves: the range of the whole tree, from its frontier."""
    return _range_hashes(read, [(0, size)])[0] if size else EMPTY_ROOT


# --- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) --------------------------------


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an audit path, by RFC 9162 section 2.1.3.2's algorithm."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf, *proof])
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            fn, sn = _skip_right_edges(fn, sn)
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is leaf ``index`` of the tree with ``root``."""
    computed = root_from_inclusion_proof(index, size, leaf, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {index} leads to root {computed.hex()}, not {root.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless the tree (old_size, old_root) is a prefix of
    (new_size, new_root), by RFC 9162 section 2.1.4.2's algorithm."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree size went from {old_size} to {new_size}: a log never shrinks")
    if old_size == new_size or old_size == 0:
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    _check_hashes(proof)
    if old_size & (old_size - 1) == 0:
        proof = [old_root, *proof]  # the old tree is a complete subtree: its root starts
    old_computed, new_computed = _consistency_roots(old_size, new_size, proof)
    if old_computed != old_root:
        raise ProofError(
            f"the log's first {old_size} entries no longer hash to {old_root.hex()} "
            f"(they hash to {old_computed.hex()}): history was rewritten"
        )
    if new_computed != new_root:
        raise ProofError(
            f"the consistency proof leads to {new_computed.hex()}, not {new_root.hex()}"
        )


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    if proof:
        raise ProofError("a consistency proof between these sizes must be empty")
    if old_size == new_size and old_root != new_root:
        raise ProofError(
            f"two different roots for tree size {old_size}: {old_root.hex()} and {new_root.hex()}"
        )


def _consistency_roots(old_size: int, new_size: int, proof: Sequence[bytes]) -> tuple[bytes, bytes]:
    """Steps 3 to 6 of RFC 9162 section 2.1.4.2: the (old, new) roots the proof implies."""
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_root = new_root = proof[0]
    for sibling in proof[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            old_root = node_hash(sibling, old_root)
            new_root = node_hash(sibling, new_root)
            fn, sn = _skip_right_edges(fn, sn)
        else:
            new_root = node_hash(new_root, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    return old_root, new_root


def _skip_right_edges(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until fn's lowest bit is set or fn is 0 (the RFC's step ii)."""
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def _check_hashes(hashes: Iterable[bytes]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise ProofError(f"hash #{position} is {len(value)} bytes, not {HASH_SIZE}")


class MemoryTree:
    """An in-memory log using the same incremental storage (tests, benchmarks, witnesses)."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Append a leaf hash."""
        siblings = {key: self.nodes[key] for key in append_keys(self.size)}
        self.nodes.update(append_nodes(self.size, leaf, siblings))
        self.size += 1

    def read(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        """The stored nodes among ``keys``."""
        return {key: self.nodes[key] for key in keys if key in self.nodes}

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all)."""
        return tree_root(self.read, self.size if size is None else size)
