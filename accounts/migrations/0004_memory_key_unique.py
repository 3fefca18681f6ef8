import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_fill_memory_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="memory_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
