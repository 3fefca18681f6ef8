"""How many queries a chat turn makes: each is a trip to the database from a turn thread, and a
busy process pays for every one (bench/RESULTS.md, section 9)."""

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from chat import services, turns
from chat.models import Message

pytestmark = pytest.mark.django_db

FACTS = ["Lives in Porto", "Prefers green tea", "Has two cats", "Works as a nurse", "Plays chess"]


def _queries(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    # Savepoints come from the test's own transaction around each atomic block.
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_turn_with_memory_makes_at_most_seventeen_queries(
    user, conversation, make_memory, make_turn
):
    for fact in FACTS:
        make_memory(user, fact)
    make_turn(conversation)
    started: list = []

    start = _queries(lambda: started.extend(services.start_turn(conversation, "Where do I live?")))
    user_message, answer = started
    shown = _queries(
        lambda: render_to_string(
            "chat/partials/turn_started.html",
            {"new_messages": started, "replaced": [], "conversation": conversation},
        )
    )
    # The process's index of the owner's memories is loaded on their first turn, then kept.
    turns._prepare_request(conversation, user_message, answer)
    prepared = _queries(lambda: turns._prepare_request(conversation, user_message, answer))
    ended = _queries(
        lambda: render_to_string(
            "chat/partials/message.html",
            {
                "message": services.finish_answer(
                    answer, content="In Porto.", status=Message.Status.COMPLETE
                ),
                "swap_oob": True,
            },
        )
    )

    # The owner's row lock, the rate limit's count, the two messages, whether the title is
    # still to be set, the conversation's update.
    assert len(start) <= 6
    # The new answer's tool calls (none yet).
    assert len(shown) <= 1
    # Project instructions, history and its tool calls, memory settings and the index's
    # revision, the recalled memories, their access log and use counts.
    assert len(prepared) <= 8, prepared
    # The answer saved, its tool calls for the final render.
    assert len(ended) <= 2
