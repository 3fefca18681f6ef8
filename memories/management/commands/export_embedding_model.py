"""Export the embedding model to ONNX once, at install time, so no process needs torch."""

from typing import Any

from django.core.management.base import BaseCommand

from memories import embeddings, onnx_export


class Command(BaseCommand):
    help = "Export the bundled all-MiniLM-L6-v2 to ONNX (needs torch; done once per machine)."

    def handle(self, *args: Any, **options: Any) -> None:
        path = embeddings.model_path()
        onnx_export.export_model(path)
        self.stdout.write(f"Embedding model ready at {path}.")
