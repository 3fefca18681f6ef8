import uuid

from django.db import migrations


def give_each_account_its_own_key(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for account in User.objects.only("pk").iterator():
        User.objects.filter(pk=account.pk).update(memory_key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_memory_key"),
    ]

    operations = [
        migrations.RunPython(give_each_account_its_own_key, migrations.RunPython.noop),
    ]
