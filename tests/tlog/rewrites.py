"""What an operator with database access could do to rewrite history, behind the
append-only triggers' backs (a PostgreSQL superuser can switch user triggers off;
on SQLite the triggers are dropped, as the conftest's flush does)."""

from __future__ import annotations

from django.db import connection, transaction

from registry import transparency
from registry.models import Checkpoint, Cosignature, LedgerEntry, TreeNode


def _without_triggers(statements: list[tuple[str, list[object]]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS registry_ledgerentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS registry_ledgerentry_no_delete")
        for sql, params in statements:
            cursor.execute(sql, params)


def rewind_ledger(*, keep: int, forget_checkpoints: bool = True) -> None:
    """Restore the state after entry ``keep`` (an old backup): later entries and their
    tree nodes are gone (the tree is rebuilt from what is left), and later checkpoints
    too unless ``forget_checkpoints`` is False (only the ledger tables were restored)."""
    table = LedgerEntry._meta.db_table
    _without_triggers([(f"DELETE FROM {table} WHERE seq > %s", [keep])])
    if forget_checkpoints:
        Cosignature.objects.filter(checkpoint__tree_size__gt=keep).delete()
        Checkpoint.objects.filter(tree_size__gt=keep).delete()
    transparency.tlog_rebuild()


def truncate_ledger() -> None:
    """Empty the ledger, the tree and the checkpoints."""
    rewind_ledger(keep=0)
    TreeNode.objects.all().delete()


def edit_entry_hash(seq: int, value: str) -> None:
    """Change one entry and rebuild the tree over the edited ledger (a careless
    rewrite that does not bother to re-chain: the witness must catch it anyway)."""
    table = LedgerEntry._meta.db_table
    _without_triggers([(f"UPDATE {table} SET entry_hash = %s WHERE seq = %s", [value, seq])])
    transparency.tlog_rebuild()
    Cosignature.objects.all().delete()
    Checkpoint.objects.all().delete()
