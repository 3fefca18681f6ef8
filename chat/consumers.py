"""The chat websocket: takes the user's messages and Stop, and shows the conversation's answers
(run by chat.runner) as HTML fragments."""

import functools
import json
import logging
from importlib import import_module
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.db import DatabaseError
from django.http import HttpRequest
from django.template.loader import render_to_string

from chat import redo, runner, services
from chat.models import Conversation, Message
from chat.turn_threads import in_turn_thread

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
# A page shows a few answers streaming at most (one, and those queued behind it).
MAX_ANSWERS_ASKED_ABOUT = 50
UNREADABLE = "That message could not be read; please send it again."
DATABASE_UNAVAILABLE = (
    "Recall cannot reach its database just now, so nothing was saved or sent. "
    "Please try again in a moment."
)


def _new_turn(conversation: Conversation, text: str) -> tuple[Message, Message, list[Message]]:
    """A new turn, shaped like a regenerated or edited one: it replaces nothing."""
    return (*services.start_turn(conversation, text), [])


def _session_signs_in(session_key: str | None, user_pk: int) -> bool:
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return auth.get_user(request).pk == user_pk


def _read(text_data: str | None) -> dict[str, Any]:
    """The page's message, checked for the fields and types `ChatConsumer.serve` uses (Stop
    first, as it is served first); ValueError, KeyError, TypeError or RecursionError if not."""
    payload = json.loads(text_data or "")
    if not isinstance(payload, dict):
        raise TypeError
    if "stop" in payload:
        return payload
    if "ended" in payload:
        answer_ids = payload["ended"]
        if not isinstance(answer_ids, list) or not all(type(i) is int for i in answer_ids):
            raise TypeError
    elif "regenerate" not in payload and not isinstance(payload["message"], str):
        raise TypeError
    return payload


class ChatConsumer(AsyncWebsocketConsumer):
    conversation: Conversation

    async def connect(self) -> None:
        user = self.scope["user"]
        # Accept before closing, so the browser gets our close code instead of a bare 403.
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        conversation = await in_turn_thread(services.find_conversation)(user, conversation_id)
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.conversation = conversation
        await self.channel_layer.group_add(
            runner.conversation_group(conversation.pk), self.channel_name
        )
        runner.sweep_in_background()
        await runner.interrupt_abandoned(conversation.pk)
        # Joined first, so no piece of a running answer falls between its text so far and the rest.
        await runner.request_text_so_far(conversation.pk, self.channel_name)

    async def disconnect(self, code: int) -> None:
        # The answers go on without this page: they belong to the server.
        if hasattr(self, "conversation"):
            await self.channel_layer.group_discard(
                runner.conversation_group(self.conversation.pk), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not hasattr(self, "conversation"):
            return
        try:
            payload = _read(text_data)
        except (ValueError, KeyError, TypeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            await self.send_error(UNREADABLE)
            return
        try:
            turn = await self.serve(payload)
        except DatabaseError:
            # PostgreSQL restarting, say. `serve` saves a message in one transaction or not at
            # all, so the socket stays open and the text goes back to the composer to be sent
            # again; answering a saved turn comes after, outside this.
            logger.warning(
                "A message to conversation %s found the database unavailable",
                self.conversation.pk,
                exc_info=True,
            )
            await self.send_error(DATABASE_UNAVAILABLE, unsent=payload.get("message"))
            return
        if turn is not None:
            user_message, answer, replaced = turn
            await runner.start_answer(self.conversation, user_message, answer, replaced=replaced)

    async def serve(self, payload: dict[str, Any]) -> tuple[Message, Message, list[Message]] | None:
        """Act on one message of the page, read by `_read`; returns the turn it saved, to be
        answered (a new, regenerated or edited one), if any."""
        if not await self.session_is_current():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return None
        if "stop" in payload:
            await runner.request_stop(self.conversation.pk)
            return None
        if "ended" in payload:
            await self.show_how_answers_ended(payload["ended"])
            return None
        if "regenerate" in payload:
            start = functools.partial(redo.regenerate_last_answer, self.conversation)
        else:
            change = redo.edit_last_message if payload.get("edit") else _new_turn
            start = functools.partial(change, self.conversation, payload["message"])
        try:
            return await in_turn_thread(start)()
        except services.TurnRejected as rejection:
            await self.send_error(str(rejection))
            return None

    async def show_how_answers_ended(self, answer_ids: list[int]) -> None:
        """Send the final state of the answers a reconnected page still shows as streaming."""
        for html in await runner.how_answers_ended(
            self.conversation, answer_ids[:MAX_ANSWERS_ASKED_ABOUT]
        ):
            await self.send(text_data=html)

    async def chat_frame(self, event: dict) -> None:
        """A frame for every page of the conversation (see chat.runner)."""
        await self.send(text_data=event["html"])

    async def session_is_current(self) -> bool:
        """Whether the session that opened the socket still signs its user in.

        Read afresh from the session store on each message, because the scope keeps the session
        as it was at connect: logging out, a password change and deactivation all end it here.
        """
        return await in_turn_thread(_session_signs_in)(
            self.scope["session"].session_key, self.scope["user"].pk
        )

    async def send_error(self, text: str, *, unsent: str | None = None) -> None:
        """Show `text` above the composer; `unsent` goes back into the composer."""
        await self.send(
            text_data=await in_turn_thread(render_to_string)(
                "chat/partials/socket_error.html", {"error": text, "unsent": unsent}
            )
        )
