"""The account model: Django's user, swappable from day one."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """An account. Its primary key is the owner key of everything the agent remembers."""
