"""Queue again the memory extractions that ran out of attempts or never ran."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from memories import tasks


class Command(BaseCommand):
    help = "Re-queue failed memory extractions, and pending ones older than --stale-minutes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale-minutes", type=int, default=30)

    def handle(self, *args: Any, stale_minutes: int, **options: Any) -> None:
        count = tasks.retry_extractions(
            older_than=timezone.now() - timedelta(minutes=stale_minutes)
        )
        self.stdout.write(f"Queued {count} extractions again.")
