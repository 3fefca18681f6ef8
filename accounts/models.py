"""The account model: Django's user, swappable from day one."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An account. Its primary key is the owner key of everything the agent remembers."""

    # What mem0 knows the account by: unlike the primary key, never handed to another account,
    # even by a database recreated from scratch.
    memory_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
