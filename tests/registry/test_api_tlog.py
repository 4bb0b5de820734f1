"""The log's API: public checkpoints and proofs, entry content only for those who may see it.

Alice (analyst) writes public records; Ivan (investigator) reports an embargoed
incident; Irene (another investigator), Nobody and anonymous are outsiders to it.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry import transparency
from registry.models import LedgerEntry
from registry.tlog import merkle, note
from tests.registry.api_records import API, client_for, incident_body, make_records
from tests.registry.test_ledger import make_org

pytestmark = pytest.mark.django_db
LOG = f"{API}/log"
_names = itertools.count()


def grow(actor: User, entries: int = 3) -> None:
    """Append ``entries`` ledger entries (new organisations)."""
    for _ in range(entries):
        make_org(actor, next(_names))


@pytest.fixture
def embargoed_incident(ivan: User, alice: User) -> int:
    records = make_records(investigator=ivan, analyst=alice)
    response = client_for(ivan).post(
        f"{API}/incidents/", {**incident_body(records), "embargoed": True}, format="json"
    )
    assert response.status_code == 201
    return int(response.json()["id"])


def hidden_seq(incident_id: int) -> int:
    return LedgerEntry.objects.get(
        object_type="registry.cloningincident", object_id=str(incident_id)
    ).seq


def test_log_info_publishes_the_checkpoint_vkey(embargoed_incident: int) -> None:
    body = client_for(None).get(f"{LOG}/").json()
    verifier = note.Verifier.from_vkey(body["vkey"])
    assert body["origin"] == verifier.name == transparency.log_signer().name
    assert body["tree_size"] == LedgerEntry.objects.count()


def test_no_checkpoint_yet_is_a_404_then_the_latest_is_served(alice: User) -> None:
    assert client_for(None).get(f"{LOG}/checkpoint/").status_code == 404
    grow(alice)
    first = transparency.checkpoint_issue()
    grow(alice)
    latest = transparency.checkpoint_issue()
    body = client_for(None).get(f"{LOG}/checkpoint/").json()
    assert (body["tree_size"], body["note"]) == (latest.tree_size, latest.note)
    by_size = client_for(None).get(f"{LOG}/checkpoints/{first.tree_size}/").json()
    assert by_size["root_hash"] == first.root_hash
    listed = client_for(None).get(f"{LOG}/checkpoints/").json()
    assert [c["tree_size"] for c in listed["results"]] == [latest.tree_size, first.tree_size]
    assert client_for(None).get(f"{LOG}/checkpoints/999999/").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "irene", "ivan"])
def test_everyone_gets_a_verifiable_proof_even_for_a_hidden_entry(
    request: pytest.FixtureRequest, embargoed_incident: int, who: str
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    checkpoint = transparency.checkpoint_issue()
    seq = hidden_seq(embargoed_incident)
    body = client_for(user).get(f"{LOG}/proof/inclusion/", {"seq": seq}).json()
    assert body["tree_size"] == checkpoint.tree_size
    entry_hash = LedgerEntry.objects.get(seq=seq).entry_hash
    leaf = merkle.leaf_hash(bytes.fromhex(entry_hash))
    assert body["leaf_hash"] == leaf.hex()
    proof = [bytes.fromhex(h) for h in body["proof"]]
    merkle.verify_inclusion(
        seq - 1, checkpoint.tree_size, leaf, proof, bytes.fromhex(checkpoint.root_hash)
    )
    by_leaf = client_for(user).get(f"{LOG}/proof/inclusion/", {"leaf_hash": leaf.hex()}).json()
    assert by_leaf == body


@pytest.mark.parametrize(
    ("who", "sees_it"), [("anonymous", False), ("irene", False), ("ivan", True)]
)
def test_entries_serve_every_leaf_but_hidden_content_only_to_insiders(
    request: pytest.FixtureRequest, embargoed_incident: int, who: str, sees_it: bool
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    size = LedgerEntry.objects.count()
    rows = client_for(user).get(f"{LOG}/entries/", {"start": 1, "end": size}).json()
    assert [row["seq"] for row in rows] == list(range(1, size + 1))
    seq = hidden_seq(embargoed_incident)
    hidden = rows[seq - 1]
    assert (
        hidden["leaf_hash"]
        == transparency.entry_leaf(LedgerEntry.objects.get(seq=seq).entry_hash).hex()
    )
    assert (hidden["entry"] is not None) is sees_it
    if sees_it:
        assert hidden["entry"]["object_id"] == str(embargoed_incident)
    public = rows[0]
    assert public["entry"]["seq"] == 1


def test_consistency_proof_links_two_checkpoints(alice: User) -> None:
    grow(alice)
    old = transparency.checkpoint_issue()
    grow(alice)
    new = transparency.checkpoint_issue()
    body = (
        client_for(None)
        .get(f"{LOG}/proof/consistency/", {"first": old.tree_size, "second": new.tree_size})
        .json()
    )
    merkle.verify_consistency(
        old.tree_size,
        new.tree_size,
        bytes.fromhex(old.root_hash),
        bytes.fromhex(new.root_hash),
        [bytes.fromhex(h) for h in body["proof"]],
    )


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("proof/inclusion/", {"seq": "x"}, "seq"),
        ("proof/inclusion/", {}, "seq"),
        ("proof/inclusion/", {"seq": 0}, "seq"),
        ("proof/inclusion/", {"seq": 1, "tree_size": 10**6}, "tree_size"),
        ("proof/inclusion/", {"leaf_hash": "zz"}, "leaf_hash"),
        ("proof/consistency/", {"first": 3, "second": 2}, "first"),
        ("proof/consistency/", {"first": 1, "second": 10**6}, "second"),
        # Proofs that read no node (empty) are refused beyond the log all the same.
        ("proof/consistency/", {"first": 0, "second": 10**6}, "second"),
        ("proof/consistency/", {"first": 10**6, "second": 10**6}, "second"),
        ("entries/", {"start": 2, "end": 1}, "end"),
        ("entries/", {"start": 1, "end": 5000}, "end"),
        ("entries/", {"start": 1}, "end"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_field(
    alice: User, path: str, params: dict[str, Any], field: str
) -> None:
    grow(alice)
    transparency.checkpoint_issue()
    response = client_for(None).get(f"{LOG}/{path}", params)
    assert response.status_code == 400
    assert field in response.json()


def test_unknown_leaf_hash_is_a_404(alice: User) -> None:
    grow(alice)
    response = client_for(None).get(f"{LOG}/proof/inclusion/", {"leaf_hash": "00" * 32})
    assert response.status_code == 404


def test_only_known_witnesses_cosign_and_their_signature_must_verify(
    alice: User, settings: Any
) -> None:
    grow(alice)
    checkpoint = transparency.checkpoint_issue()
    witness = note.Signer.generate("witness.example/w1", note.ALG_COSIGNATURE_V1)
    body, _ = note.split_note(checkpoint.note)
    line = witness.cosign(body, 1_800_000_000)
    url = f"{LOG}/checkpoints/{checkpoint.tree_size}/cosignatures/"
    response = client_for(None).post(url, {"cosignature": line}, format="json")
    assert response.status_code == 400
    assert "not a known witness" in response.json()["cosignature"][0]
    settings.TLOG_WITNESS_VKEYS = [witness.verifier.vkey]
    # A cosignature over another checkpoint body does not verify over this one.
    forged = witness.cosign(body.replace(f"\n{checkpoint.tree_size}\n", "\n1\n"), 1_800_000_001)
    response = client_for(None).post(url, {"cosignature": forged}, format="json")
    assert response.status_code == 400
    assert "does not verify" in response.json()["cosignature"][0]
    response = client_for(None).post(url, {"cosignature": line}, format="json")
    assert response.status_code == 201
    assert response.json()["witness"] == "witness.example/w1"
    served = client_for(None).get(f"{LOG}/checkpoint/").json()
    assert served["cosigned_note"] == checkpoint.note + line
    note.verify_cosignature(body, served["cosignatures"][0]["line"], witness.verifier)


def test_checkpoint_list_runs_a_fixed_number_of_queries(alice: User, settings: Any) -> None:
    witness = note.Signer.generate("witness.example/w1", note.ALG_COSIGNATURE_V1)
    settings.TLOG_WITNESS_VKEYS = [witness.verifier.vkey]

    def seed() -> None:
        grow(alice)
        checkpoint = transparency.checkpoint_issue()
        body, _ = note.split_note(checkpoint.note)
        transparency.cosignature_record(checkpoint=checkpoint, line=witness.cosign(body, 1))

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client_for(None).get(f"{LOG}/checkpoints/").status_code == 200
        return len(queries)

    seed()
    one = count_queries()
    for _ in range(3):
        seed()
    assert count_queries() == one


def test_every_log_endpoint_is_in_the_openapi_schema() -> None:
    paths = client_for(None).get(f"{API}/schema/", {"format": "json"}).json()["paths"]
    for suffix in [
        "", "checkpoint/", "checkpoints/", "checkpoints/{tree_size}/",
        "checkpoints/{tree_size}/cosignatures/", "proof/inclusion/", "proof/consistency/",
        "entries/",
    ]:  # fmt: skip
        assert f"{LOG}/{suffix}" in paths


def test_proofs_between_explicit_sizes_may_be_cached_and_the_latest_may_not(alice: User) -> None:
    grow(alice, 5)
    transparency.checkpoint_issue()
    explicit = client_for(None).get(f"{LOG}/proof/inclusion/", {"seq": 2, "tree_size": 5})
    assert "immutable" in explicit["Cache-Control"]
    latest = client_for(None).get(f"{LOG}/proof/inclusion/", {"seq": 2})
    assert "Cache-Control" not in latest
    consistency = client_for(None).get(f"{LOG}/proof/consistency/", {"first": 2, "second": 5})
    assert "immutable" in consistency["Cache-Control"]


def test_a_tree_one_entry_beyond_the_log_is_refused(alice: User) -> None:
    grow(alice)
    size = transparency.tlog_size()
    beyond = client_for(None).get(f"{LOG}/proof/inclusion/", {"seq": 1, "tree_size": size + 1})
    assert beyond.json() == {"tree_size": f"the log has only {size} entries"}
    last = client_for(None).get(f"{LOG}/proof/inclusion/", {"seq": size, "tree_size": size})
    assert last.status_code == 200


def test_a_proof_reads_its_nodes_in_one_query_and_nothing_else(alice: User, vera: User) -> None:
    """No token, session or log-size lookup on the way, whoever asks (Vera's session
    cookie is not even read): the proof's own query is the whole database work."""
    grow(alice, 6)
    signed_in = Client()
    signed_in.force_login(vera)
    for client in (Client(), signed_in):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{LOG}/proof/inclusion/", {"seq": 3, "tree_size": 6})
        assert response.status_code == 200
        assert [q["sql"] for q in queries] == [queries[0]["sql"]]
        assert "registry_treenode" in queries[0]["sql"]


def test_a_cached_proof_is_revalidated_by_its_etag(alice: User) -> None:
    grow(alice, 5)
    url = f"{LOG}/proof/inclusion/"
    first = client_for(None).get(url, {"seq": 2, "tree_size": 5})
    again = client_for(None).get(url, {"seq": 2, "tree_size": 5}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    other = client_for(None).get(url, {"seq": 3, "tree_size": 5}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert other.status_code == 200
    assert other["ETag"] != first["ETag"]
    consistency = client_for(None).get(f"{LOG}/proof/consistency/", {"first": 2, "second": 5})
    assert consistency["ETag"] not in (first["ETag"], other["ETag"])


def test_entries_run_a_fixed_number_of_queries_however_long_the_range(
    ivan: User, embargoed_incident: int
) -> None:
    def count_queries(end: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client_for(ivan).get(f"{LOG}/entries/", {"start": 1, "end": end})
            assert response.status_code == 200
        return len(queries)

    assert count_queries(2) == count_queries(LedgerEntry.objects.count())
