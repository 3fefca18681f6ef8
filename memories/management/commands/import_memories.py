"""Load a memory export into a user's memories; what the user already has is skipped."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memories import exports
from memories.management.commands.export_memories import find_user


class Command(BaseCommand):
    help = "Import a JSON memory export for a user. Duplicates are skipped; nothing is removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("file", help="A file written by export_memories or the dashboard.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = find_user(options["username"])
        try:
            with open(options["file"], "rb") as file:
                data = exports.read_export_file(file.read())
            result = exports.import_memories(owner, data)
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}.") from None
        except exports.InvalidExport as error:
            raise CommandError(str(error)) from None
        for error in result.errors:
            self.stderr.write(f"Skipped {error}")
        self.stdout.write(
            f"Added {result.added}, skipped {result.skipped} already known, "
            f"{len(result.errors)} could not be read."
        )
