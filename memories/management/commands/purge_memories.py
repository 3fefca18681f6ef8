"""Delete for good the memories past their expiry, and deleted ones past the undo window."""

from typing import Any

from django.core.management.base import BaseCommand

from memories import services


class Command(BaseCommand):
    help = "Remove expired memories, and deleted memories whose undo window has closed."

    def handle(self, *args: Any, **options: Any) -> None:
        removed = services.purge_expired()
        self.stdout.write(f"Purged {removed} memories.")
