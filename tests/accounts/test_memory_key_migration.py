"""Accounts created before mem0 knew them by memory_key each get a key of their own."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0004_memory_key_unique")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_get_distinct_memory_keys():
    old_apps = migrate(BEFORE)
    OldUser = old_apps.get_model("accounts", "User")
    for name in ("ann", "bob", "cy"):
        OldUser.objects.create(username=name, password="!")

    new_apps = migrate(AFTER)

    keys = list(new_apps.get_model("accounts", "User").objects.values_list("memory_key", flat=True))
    assert len(keys) == 3 and None not in keys and len(set(keys)) == 3
