"""One turn's request: the recalled memories come right before the message they help answer."""

import pytest
from asgiref.sync import sync_to_async

from chat import services as chat_services
from chat import turns
from tests.upstream import Text


@pytest.mark.django_db(transaction=True)
async def test_the_memory_block_comes_just_before_the_users_message(
    upstream, user, conversation, make_memory
):
    await sync_to_async(make_memory)(user, "Prefers green tea for breakfast")
    upstream.script(Text("Noted."), Text("Green tea."))
    for text in ("Hello there, how are you today?", "What should I drink for breakfast?"):
        question, answer = await sync_to_async(chat_services.start_turn)(conversation, text)
        async for _ in turns.stream_answer(conversation, question, answer):
            pass

    items = upstream.responses_bodies()[-1]["input"]

    assert [item["role"] for item in items] == ["user", "assistant", "developer", "user"]
    assert items[-2]["content"].startswith("<user_memories>")
    assert "Prefers green tea for breakfast" in items[-2]["content"]
    assert items[-1]["content"] == "What should I drink for breakfast?"
