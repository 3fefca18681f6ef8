from django.conf import settings
from django.db import migrations


def delete_mem0s_copy_of_chat_text(apps, schema_editor):
    # Before accounts had a memory_key, mem0 kept recent chat messages, keyed by account number,
    # in this SQLite file; it survived every deletion and would outlive the accounts it names.
    for name in ("history.db", "history.db-journal"):
        (settings.MEM0_DIR / name).unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_memory_key_unique"),
    ]

    operations = [
        migrations.RunPython(delete_mem0s_copy_of_chat_text, migrations.RunPython.noop),
    ]
