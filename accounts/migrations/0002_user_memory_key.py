import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    # Unique only once every existing account has its own value (0003, 0004): adding the field
    # gives all existing rows the same default.
    operations = [
        migrations.AddField(
            model_name="user",
            name="memory_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True),
        ),
    ]
