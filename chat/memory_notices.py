"""Pushes "Memory updated" to a conversation's open pages as soon as its extraction ends."""

from asgiref.sync import async_to_sync
from django.db import transaction
from django.template.loader import render_to_string

from chat import runner
from memories.models import ExtractionRun


def announce_extraction(sender: type[ExtractionRun], run: ExtractionRun, **kwargs: object) -> None:
    """Have the pages of the run's conversation fetch the answer's notice (the view checks who
    asks), in whichever process they are open: this runs in the worker."""
    answer = run.message
    html = render_to_string("chat/partials/memory_notice_ready.html", {"answer": answer})
    transaction.on_commit(
        lambda: async_to_sync(runner.publish)(answer.conversation_id, html), robust=True
    )
