"""Embed every stored memory again, once, after the embedding model changed."""

from typing import Any

from django.core.management.base import BaseCommand

from memories import embeddings, services


class Command(BaseCommand):
    help = (
        "Embed every memory again with the current embedding model (run once after upgrading "
        "to a release whose model changed; searches compare vectors of one model only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = services.reembed_memories()
        self.stdout.write(f"Embedded {embedded} memories with {embeddings.embedder_name()}.")
