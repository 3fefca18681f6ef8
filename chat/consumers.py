"""The chat websocket: takes the user's messages and Stop, and shows the conversation's answers
(run by chat.runner) as HTML fragments."""

import functools
import json
from importlib import import_module

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.template.loader import render_to_string

from chat import redo, runner, services
from chat.models import Conversation, Message
from chat.turn_threads import in_turn_thread

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
# A page shows a few answers streaming at most (one, and those queued behind it).
MAX_ANSWERS_ASKED_ABOUT = 50


def _new_turn(conversation: Conversation, text: str) -> tuple[Message, Message, list[Message]]:
    """A new turn, shaped like a regenerated or edited one: it replaces nothing."""
    return (*services.start_turn(conversation, text), [])


def _session_signs_in(session_key: str | None, user_pk: int) -> bool:
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return auth.get_user(request).pk == user_pk


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
        if not await self.session_is_current():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            payload = json.loads(text_data or "")
            if not isinstance(payload, dict):
                raise TypeError
            if "stop" in payload:
                await runner.request_stop(self.conversation.pk)
                return
            if "ended" in payload:
                await self.show_how_answers_ended(payload["ended"])
                return
            if "regenerate" in payload:
                start = functools.partial(redo.regenerate_last_answer, self.conversation)
            else:
                text = payload["message"]
                if not isinstance(text, str):
                    raise TypeError
                change = redo.edit_last_message if payload.get("edit") else _new_turn
                start = functools.partial(change, self.conversation, text)
        except (ValueError, KeyError, TypeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            await self.send_error("That message could not be read; please send it again.")
            return
        try:
            user_message, answer, replaced = await in_turn_thread(start)()
        except services.TurnRejected as rejection:
            await self.send_error(str(rejection))
            return
        await runner.start_answer(self.conversation, user_message, answer, replaced=replaced)

    async def show_how_answers_ended(self, answer_ids: object) -> None:
        """Send the final state of the answers a reconnected page still shows as streaming."""
        if not isinstance(answer_ids, list) or not all(
            type(answer_id) is int for answer_id in answer_ids
        ):
            raise TypeError
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

    async def send_error(self, text: str) -> None:
        await self.send(
            text_data=await in_turn_thread(render_to_string)(
                "chat/partials/socket_error.html", {"error": text}
            )
        )
