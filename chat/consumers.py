"""The chat websocket: receives the user's messages and streams answers back as HTML fragments."""

import asyncio
import json
import logging
from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape

from chat import services, turns
from chat.models import Conversation, Message
from chat.streaming import batched

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class ChatConsumer(AsyncWebsocketConsumer):
    conversation: Conversation

    async def connect(self) -> None:
        self.answer_tasks: set[asyncio.Task] = set()
        # One answer at a time per socket, in the order the messages were sent.
        self.turn_lock = asyncio.Lock()
        user = self.scope["user"]
        # Accept before closing, so the browser gets our close code instead of a bare 403.
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        conversation = await database_sync_to_async(services.find_conversation)(
            user, conversation_id
        )
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.conversation = conversation

    async def disconnect(self, code: int) -> None:
        for task in self.answer_tasks:
            task.cancel()
        # Wait, so each cancelled answer is saved as incomplete before the socket is gone.
        await asyncio.gather(*self.answer_tasks, return_exceptions=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not hasattr(self, "conversation"):
            return
        if not await self.session_is_current():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            payload = json.loads(text_data or "")
            text = payload["message"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            await self.send_error("That message could not be read; please send it again.")
            return
        try:
            user_message, answer = await database_sync_to_async(services.start_turn)(
                self.conversation, text
            )
        except services.TurnRejected as rejection:
            await self.send_error(str(rejection))
            return
        await self.send(
            text_data=await database_sync_to_async(render_to_string)(
                "chat/partials/turn_started.html",
                {"user_message": user_message, "answer": answer, "conversation": self.conversation},
            )
        )
        task = asyncio.create_task(self.answer(user_message, answer))
        self.answer_tasks.add(task)
        task.add_done_callback(self.answer_tasks.discard)

    async def answer(self, user_message: Message, answer: Message) -> None:
        try:
            async with self.turn_lock:
                await self.send_answer(user_message, answer)
        except asyncio.CancelledError:
            # The socket closed. An answer still queued behind the lock never reached
            # stream_answer, which saves its own however it ends: end it here or it streams
            # forever. Shielded, because this task is the one being cancelled.
            await asyncio.shield(
                database_sync_to_async(services.end_unfinished_answer)(
                    answer, services.ANSWER_INTERRUPTED
                )
            )
            raise
        except Exception:
            # Whatever broke, the page must stop showing the answer as typing.
            logger.exception("The answer %s failed", answer.pk)
            message = await database_sync_to_async(services.end_unfinished_answer)(
                answer, services.ANSWER_FAILED
            )
            await self.send(text_data=await self.render_answer(message))

    async def send_answer(self, user_message: Message, answer: Message) -> None:
        updates = turns.stream_answer(self.conversation, user_message, answer)
        async for batch in batched(updates, settings.CHAT_STREAM_FLUSH_SECONDS):
            text = "".join(u.text for u in batch if isinstance(u, turns.AnswerDelta))
            if text:
                await self.send(
                    text_data=f'<span hx-swap-oob="beforeend:#{answer.dom_id}-text">'
                    f"{escape(text)}</span>"
                )
            for update in batch:
                if isinstance(update, turns.AnswerFinished):
                    await self.send(text_data=await self.render_answer(update.message))

    async def session_is_current(self) -> bool:
        """Whether the session that opened the socket still signs its user in.

        Read afresh from the session store on each message, because the scope keeps the session
        as it was at connect: logging out, a password change and deactivation all end it here.
        """
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        session = session_store(self.scope["session"].session_key)
        return (await get_user({"session": session})).pk == self.scope["user"].pk

    async def send_error(self, text: str) -> None:
        await self.send(
            text_data=await database_sync_to_async(render_to_string)(
                "chat/partials/socket_error.html", {"error": text}
            )
        )

    @database_sync_to_async
    def render_answer(self, message: Message) -> str:
        return render_to_string(
            "chat/partials/message.html", {"message": message, "swap_oob": True}
        )
