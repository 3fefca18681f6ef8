"""Moving mem0 to memory_key: existing accounts each get their own, mem0's old copy is deleted."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_KEYS = [("accounts", "0001_initial")]
KEYS_UNIQUE = [("accounts", "0004_memory_key_unique")]
OLD_COPY_DELETED = [("accounts", "0005_delete_mem0_history_file")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_get_distinct_memory_keys():
    old_apps = migrate(BEFORE_KEYS)
    OldUser = old_apps.get_model("accounts", "User")
    for name in ("ann", "bob", "cy"):
        OldUser.objects.create(username=name, password="!")

    new_apps = migrate(KEYS_UNIQUE)

    keys = list(new_apps.get_model("accounts", "User").objects.values_list("memory_key", flat=True))
    assert len(keys) == 3 and None not in keys and len(set(keys)) == 3


@pytest.mark.django_db(transaction=True)
def test_mem0s_old_copy_of_chat_text_is_deleted(settings):
    settings.MEM0_DIR.mkdir(parents=True)
    old_copy = settings.MEM0_DIR / "history.db"
    old_copy.write_text("user: my locker code is 7731")
    migrate(KEYS_UNIQUE)

    migrate(OLD_COPY_DELETED)

    assert not old_copy.exists()
