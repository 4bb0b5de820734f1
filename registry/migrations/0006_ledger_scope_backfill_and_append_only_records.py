"""Give existing ledger entries their scope, and make the database refuse what the
registry never does: emptying the ledger (TRUNCATE, PostgreSQL) and deleting evidence,
decisions, replies or commitments (PostgreSQL and SQLite).

SQLite has no TRUNCATE statement (``DELETE FROM`` without WHERE is refused by the
ledger's DELETE trigger); it cannot stop someone who edits the database file itself,
which is why the ledger is also a hash chain.
"""

import importlib

from django.db import migrations

_ledger_triggers = importlib.import_module("registry.migrations.0002_ledger_append_only")

APPEND_ONLY_TABLES = [
    "registry_evidence",
    "registry_incidentdecision",
    "registry_rightofreply",
    "registry_commitment",
]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION registry_refuse_removal() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% rows are never removed (%% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
POSTGRES_UP = [
    POSTGRES_FUNCTION,
    """CREATE TRIGGER registry_ledgerentry_no_truncate
       BEFORE TRUNCATE ON registry_ledgerentry
       FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_removal();""",
    *(
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION registry_refuse_removal();"""
        for table in APPEND_ONLY_TABLES
    ),
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS registry_ledgerentry_no_truncate ON registry_ledgerentry;",
    *(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};" for table in APPEND_ONLY_TABLES),
    "DROP FUNCTION IF EXISTS registry_refuse_removal();",
]
# The statements the test suite's flush lifts around its own TRUNCATE (tests/conftest.py).
POSTGRES_TRUNCATE_LIFT = (
    "ALTER TABLE registry_ledgerentry DISABLE TRIGGER registry_ledgerentry_no_truncate;"
)
POSTGRES_TRUNCATE_RESTORE = (
    "ALTER TABLE registry_ledgerentry ENABLE TRIGGER registry_ledgerentry_no_truncate;"
)
SQLITE_UP = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} rows are never removed (DELETE refused)'); END;"""
    for table in APPEND_ONLY_TABLES
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {table}_no_delete;" for table in APPEND_ONLY_TABLES]


def _scope_of(object_type, object_id, snapshot):
    if object_type == "registry.cloningincident":
        return int(object_id)
    # Evidence, decisions, replies and reports on an incident carry its id.
    incident = snapshot.get("incident_id")
    return int(incident) if incident is not None else None


def backfill_scopes(apps, schema_editor):
    connection = schema_editor.connection
    ledger = apps.get_model("registry", "LedgerEntry")
    rows = ledger.objects.values_list("pk", "object_type", "object_id", "snapshot")
    updates = [
        (scope, pk)
        for pk, object_type, object_id, snapshot in rows.iterator()
        if (scope := _scope_of(object_type, object_id, snapshot)) is not None
    ]
    if not updates:
        return
    with connection.cursor() as cursor:
        # The append-only triggers refuse UPDATE; this one backfill of a column outside
        # the hash lifts them for its own statements.
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE registry_ledgerentry DISABLE TRIGGER USER;")
        else:
            for statement in _ledger_triggers.SQLITE_DOWN:
                cursor.execute(statement)
        cursor.executemany(
            "UPDATE registry_ledgerentry SET scope_incident_id = %s WHERE id = %s", updates
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE registry_ledgerentry ENABLE TRIGGER USER;")
        else:
            for statement in _ledger_triggers.SQLITE_UP:
                cursor.execute(statement)


def install(apps, schema_editor):
    _run(schema_editor, up=True)


def uninstall(apps, schema_editor):
    _run(schema_editor, up=False)


def _run(schema_editor, *, up):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRES_UP if up else POSTGRES_DOWN
    elif vendor == "sqlite":
        # Adding the scope column may have rebuilt the ledger table (and dropped its
        # triggers); put them back whatever happened.
        statements = (SQLITE_UP + _ledger_triggers.SQLITE_UP) if up else SQLITE_DOWN
    else:
        raise NotImplementedError(f"No append-only trigger for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_ledger_scope")]
    operations = [
        migrations.RunPython(backfill_scopes, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
