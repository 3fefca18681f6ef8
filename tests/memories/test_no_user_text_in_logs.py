"""A user's words never reach the logs, even when extraction or the upstream fails."""

import logging

import pytest
from asgiref.sync import sync_to_async

from chat import services as chat_services
from chat import turns
from tests.upstream import HTTPError, Text

SECRET = "my passport number is X1234567"


async def run_turn(conversation, text: str) -> None:
    user_message, answer = await sync_to_async(chat_services.start_turn)(conversation, text)
    async for _ in turns.stream_answer(conversation, user_message, answer):
        pass


@pytest.mark.django_db(transaction=True)
async def test_failures_are_logged_without_the_users_words(upstream, conversation, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.script(Text(f"Noted: {SECRET}"), HTTPError(500, "boom"), HTTPError(500, "boom"))
    upstream.script_chat(*(HTTPError(500, "down"),) * 15)

    await run_turn(conversation, f"Remember that {SECRET}.")
    await run_turn(conversation, f"Again: {SECRET}.")

    assert "memory extraction" in caplog.text  # the failure itself was logged
    assert "X1234567" not in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_the_offline_pipeline_logs_no_user_words(conversation, caplog):
    caplog.set_level(logging.DEBUG)

    await run_turn(conversation, f"Remember that {SECRET}.")

    assert "X1234567" not in caplog.text
