"""The ledger: every write appends a chained entry; tampering is caught."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from registry.ledger import GENESIS_HASH, canonical_json, entry_hash, ledger_verify, sha256_hex
from registry.models import LedgerEntry, Organization
from registry.services import claim_withdraw, organization_create, organization_update
from tests.markers import requires_postgres


def make_org(actor: object, n: int) -> Organization:
    return organization_create(actor=actor, fields={"name": f"Org {n}", "slug": f"org-{n}"})


@pytest.mark.django_db
def test_each_write_appends_an_entry_chained_to_the_previous(alice: object) -> None:
    org = make_org(alice, 1)
    organization_update(organization=org, actor=alice, fields={"country": "FR"})
    first, second = LedgerEntry.objects.order_by("seq")
    assert (first.seq, first.action, first.prev_hash) == (1, "create", GENESIS_HASH)
    assert (second.seq, second.action, second.prev_hash) == (2, "update", first.entry_hash)
    assert second.snapshot["country"] == "FR"
    assert second.actor_label == "alice"


@pytest.mark.django_db
def test_entry_hash_is_sha256_of_the_canonical_entry(alice: object) -> None:
    make_org(alice, 1)
    entry = LedgerEntry.objects.get()
    # Recomputed here from the documented definition, independently of ledger_append.
    body = {
        "seq": 1,
        "created_at": entry.created_at.isoformat(),
        "actor": "alice",
        "action": "create",
        "object_type": "registry.organization",
        "object_id": str(entry.object_id),
        "snapshot_sha256": sha256_hex(canonical_json(entry.snapshot)),
        "prev_hash": GENESIS_HASH,
    }
    import hashlib
    import json

    expected = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert entry.entry_hash == expected
    assert entry_hash(**{**body}) == expected


@pytest.mark.django_db
def test_status_change_is_named_with_reason_and_both_states(alice: object) -> None:
    from tests.factories import BenchmarkClaimFactory

    claim = BenchmarkClaimFactory()
    claim_withdraw(claim=claim, actor=alice, reason="refit")
    entry = LedgerEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert entry.action == "status_change"
    assert entry.snapshot["_context"] == {"from": "recorded", "to": "withdrawn", "reason": "refit"}


@pytest.mark.django_db
def test_database_refuses_to_update_or_delete_ledger_rows(alice: object) -> None:
    make_org(alice, 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().action == "create"


def _tamper(seq: int, column: str, value: str) -> None:
    """Edit a row behind the trigger's back, as an attacker with DBA rights could."""
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser session can switch user triggers off.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE seq = %s", [value, seq])
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER registry_ledgerentry_no_update")
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE seq = %s", [value, seq])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("snapshot", '{"name": "Forged"}', "snapshot does not match"),
        ("action", "delete", "entry_hash does not match"),
        ("prev_hash", "f" * 64, "prev_hash does not match"),
    ],
)
def test_verify_ledger_names_the_first_tampered_entry(
    alice: object, column: str, value: str, reason: str
) -> None:
    for n in range(5):
        make_org(alice, n)
    call_command("verify_ledger")
    _tamper(3, column, value)
    assert ledger_verify() is not None
    with pytest.raises(CommandError, match=rf"seq 3: {reason}"):
        call_command("verify_ledger")


def delete_ledger_rows_past_the_triggers(where: str = "") -> None:
    """What an operator with database access could do: remove entries despite the triggers
    (inside the test's transaction, which puts them back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER registry_ledgerentry_no_delete")
        cursor.execute(f"DELETE FROM {LedgerEntry._meta.db_table} {where}")


@pytest.mark.django_db
def test_verify_ledger_catches_a_removed_entry(alice: object) -> None:
    for n in range(4):
        make_org(alice, n)
    delete_ledger_rows_past_the_triggers("WHERE seq = 2")
    with pytest.raises(CommandError, match="seq 2: entry #2 is missing"):
        call_command("verify_ledger")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(alice: object) -> None:
    """Eight threads write at once; the chain stays linear and complete."""
    writers, per_writer = 8, 5
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(per_writer):
                make_org(alice, worker * 100 + n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert LedgerEntry.objects.count() == writers * per_writer
    assert list(LedgerEntry.objects.values_list("seq", flat=True)) == list(
        range(1, writers * per_writer + 1)
    )
    assert ledger_verify() is None
