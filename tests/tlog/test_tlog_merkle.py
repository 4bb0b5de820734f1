"""The Merkle tree against an independent brute-force RFC 6962 tree and published vectors.

The brute force below is the RFC's recursive definitions run over the whole leaf list
(MTH, PATH, PROOF/SUBPROOF of RFC 6962 section 2.1), sharing no code with the module,
which works from stored complete subtrees. The vectors are transparency-dev/merkle's
(testonly/constants.go and proof/verify_test.go), themselves taken from the
certificate-transparency reference implementation.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.tlog import merkle
from registry.tlog.merkle import MemoryTree, ProofError

# --- the independent reference ------------------------------------------------------------


def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, leaves[:k], complete), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def build(leaves: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for data in leaves:
        tree.append(merkle.leaf_hash(data))
    return tree


# --- published vectors --------------------------------------------------------------------

VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, path): the vectors number leaves from 1; these are 0-based.
VECTOR_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
VECTOR_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def test_roots_match_the_published_vectors_at_every_size() -> None:
    tree = build(VECTOR_LEAVES)
    for size, expected in enumerate(VECTOR_ROOTS):
        assert tree.root(size).hex() == expected


@pytest.mark.parametrize(("index", "size", "path"), VECTOR_INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, path: list[str]
) -> None:
    tree = build(VECTOR_LEAVES)
    proof = merkle.inclusion_proof(tree.read, index, size)
    assert [h.hex() for h in proof] == path
    leaf = merkle.leaf_hash(VECTOR_LEAVES[index])
    merkle.verify_inclusion(index, size, leaf, proof, bytes.fromhex(VECTOR_ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "path"), VECTOR_CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    old: int, new: int, path: list[str]
) -> None:
    tree = build(VECTOR_LEAVES)
    proof = merkle.consistency_proof(tree.read, old, new)
    assert [h.hex() for h in proof] == path
    old_root, new_root = bytes.fromhex(VECTOR_ROOTS[old]), bytes.fromhex(VECTOR_ROOTS[new])
    merkle.verify_consistency(old, new, old_root, new_root, proof)


# --- against the brute force, exhaustively on small trees ---------------------------------


def test_every_proof_of_every_tree_up_to_40_leaves_equals_the_reference() -> None:
    leaves = [i.to_bytes(4, "big") for i in range(40)]
    tree = build(leaves)
    for size in range(1, 41):
        root = ref_mth(leaves[:size])
        assert tree.root(size) == root
        for index in range(size):
            proof = merkle.inclusion_proof(tree.read, index, size)
            assert proof == ref_path(index, leaves[:size])
            merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), proof, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(tree.read, old, size)
            assert proof == (ref_subproof(old, leaves[:size], True) if old < size else [])
            merkle.verify_consistency(old, size, ref_mth(leaves[:old]), root, proof)


def test_appending_stores_exactly_the_complete_subtrees() -> None:
    leaves = [bytes([i]) for i in range(13)]
    tree = build(leaves)
    expected = {(level, index) for level in range(4) for index in range(13 >> level)}
    assert set(tree.nodes) == expected
    for level, index in expected:
        width = 1 << level
        assert tree.nodes[(level, index)] == ref_mth(leaves[index * width : (index + 1) * width])


# --- properties ---------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=300)


@given(data=st.data(), size=sizes)
def test_any_inclusion_proof_verifies_and_any_flipped_bit_fails(
    data: st.DataObject, size: int
) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    tree = build(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(tree.read, index, size)
    root = tree.root()
    leaf = merkle.leaf_hash(leaves[index])
    merkle.verify_inclusion(index, size, leaf, proof, root)
    assert len(proof) <= size.bit_length()
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        broken = list(proof)
        broken[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, leaf, broken, root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, leaf, proof[:-1], root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, leaf, [*proof, root], root)
    other = (index + 1) % size
    if other != index:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(other, size, leaf, proof, root)


@given(data=st.data(), new=sizes)
def test_any_consistency_proof_verifies_and_a_rewritten_prefix_fails(
    data: st.DataObject, new: int
) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(new)]
    tree = build(leaves)
    old = data.draw(st.integers(1, new))
    proof = merkle.consistency_proof(tree.read, old, new)
    assert len(proof) <= 2 * new.bit_length()
    old_root, new_root = tree.root(old), tree.root()
    merkle.verify_consistency(old, new, old_root, new_root, proof)
    # A log that rewrote one of the first `old` entries cannot prove consistency.
    rewritten = list(leaves)
    victim = data.draw(st.integers(0, old - 1))
    rewritten[victim] = b"rewritten"
    forged_tree = build(rewritten)
    forged_proof = merkle.consistency_proof(forged_tree.read, old, new)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, old_root, forged_tree.root(), forged_proof)


def test_shrinking_and_same_size_forks_are_refused() -> None:
    tree = build([b"a", b"b", b"c"])
    with pytest.raises(ProofError, match="never shrinks"):
        merkle.verify_consistency(3, 2, tree.root(), tree.root(2), [])
    with pytest.raises(ProofError, match="two different roots"):
        merkle.verify_consistency(3, 3, tree.root(), merkle.EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="empty"):
        merkle.verify_consistency(2, 3, tree.root(2), tree.root(), [])


def test_impossible_proof_requests_name_the_problem() -> None:
    tree = build([b"a", b"b"])
    with pytest.raises(ProofError, match="leaf index 2 is outside a tree of size 2"):
        merkle.inclusion_proof(tree.read, 2, 2)
    with pytest.raises(ProofError, match="from size 3 to size 2"):
        merkle.consistency_proof(tree.read, 3, 2)
    with pytest.raises(LookupError, match="lacks nodes"):
        merkle.inclusion_proof(tree.read, 0, 4)
