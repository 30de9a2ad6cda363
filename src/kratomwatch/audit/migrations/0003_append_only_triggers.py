"""The database refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit events and checkpoints."""

from typing import Any

from django.db import migrations

from kratomwatch.audit import guard


def install(apps: Any, schema_editor: Any) -> None:
    for sql in guard.create_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    for sql in guard.drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kratomwatch_audit_append_only()", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_checkpoints")]

    operations = [migrations.RunPython(install, remove)]
