"""Signals the memory layer sends, for whoever shows its work (the chat pushes its notices)."""

from django.dispatch import Signal

# Sent with `run` (an ExtractionRun) once it is done, or failed for good.
extraction_finished = Signal()
