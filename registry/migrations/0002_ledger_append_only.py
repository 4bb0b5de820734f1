"""The database itself refuses to change or remove ledger entries."""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION registry_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON registry_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION registry_ledger_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS registry_ledgerentry_append_only ON registry_ledgerentry;
DROP FUNCTION IF EXISTS registry_ledger_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER IF NOT EXISTS registry_ledgerentry_no_update
       BEFORE UPDATE ON registry_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS registry_ledgerentry_no_delete
       BEFORE DELETE ON registry_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (DELETE refused)'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS registry_ledgerentry_no_update;",
    "DROP TRIGGER IF EXISTS registry_ledgerentry_no_delete;",
]


def install(apps, schema_editor):
    run(schema_editor, up=True)


def uninstall(apps, schema_editor):
    run(schema_editor, up=False)


def run(schema_editor, *, up):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP if up else POSTGRES_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_UP if up else SQLITE_DOWN:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"No append-only trigger for {vendor}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
