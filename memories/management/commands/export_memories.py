"""Write one user's memories, with their history, as the JSON the dashboard exports."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memories import exports


class Command(BaseCommand):
    help = "Export a user's memories with their history as JSON (to stdout, or to a file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("-o", "--output", help="File to write; stdout when left out.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = find_user(options["username"])
        text = exports.as_json(exports.export_memories(owner))
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as file:
                file.write(text + "\n")
            self.stderr.write(
                f"Wrote the memories of {owner.get_username()} to {options['output']}."
            )
        else:
            self.stdout.write(text)


def find_user(username: str) -> AbstractBaseUser:
    try:
        return get_user_model()._default_manager.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user named {username!r}.") from None
