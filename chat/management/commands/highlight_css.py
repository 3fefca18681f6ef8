"""Print the stylesheet for highlighted code; static/css/pygments.css is its output."""

from django.core.management.base import BaseCommand

from chat.rendering import highlight_css


class Command(BaseCommand):
    help = "Print the CSS for highlighted code: manage.py highlight_css > static/css/pygments.css"

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(highlight_css(), ending="")
