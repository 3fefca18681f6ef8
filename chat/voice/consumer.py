"""The voice websocket: microphone PCM and JSON control frames in; text, HTML and speech out."""

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape

from chat import services
from chat.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from chat.models import Conversation, Message
from chat.voice import services as voice_services
from chat.voice.offline import OfflineEngine
from chat.voice.realtime import RealtimeEngine
from chat.voice.session import CLOSE_BUSY, CLOSE_DISABLED, Engine, SessionEnded, VoiceSession
from config import upstream


def engine_for(conversation: Conversation, consumer: "VoiceConsumer") -> Engine:
    engine = settings.VOICE_ENGINE
    has_upstream = settings.OPENAI_REALTIME_URL or not upstream.uses_offline_model()
    if engine == "realtime" or (engine == "auto" and has_upstream):
        return RealtimeEngine(conversation, consumer)
    return OfflineEngine(conversation, consumer)


class VoiceConsumer(AsyncWebsocketConsumer):
    conversation: Conversation
    session: VoiceSession | None = None
    lock_token: str | None = None
    watchdog: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        # Accept before closing, so the browser gets our close code instead of a bare 403.
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation = await database_sync_to_async(services.find_conversation)(
            user, self.scope["url_route"]["kwargs"]["conversation_id"]
        )
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not settings.VOICE_ENABLED:
            await self.end(SessionEnded(CLOSE_DISABLED, "Voice is turned off on this server."))
            return
        try:
            self.lock_token = await database_sync_to_async(voice_services.claim_session)(user.pk)
        except voice_services.VoiceSessionBusy as busy:
            await self.end(SessionEnded(CLOSE_BUSY, str(busy)))
            return
        self.conversation = conversation
        self.session = VoiceSession(engine_for(conversation, self), self)
        self.watchdog = asyncio.create_task(self.watch())

    async def disconnect(self, code: int) -> None:
        if self.watchdog is not None:
            watchdog, self.watchdog = self.watchdog, None
            if watchdog is not asyncio.current_task():
                watchdog.cancel()
        if self.session is not None:
            session, self.session = self.session, None
            await session.stop()
        if self.lock_token is not None:
            token, self.lock_token = self.lock_token, None
            await database_sync_to_async(voice_services.release_session)(
                self.scope["user"].pk, token
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        try:
            if bytes_data is not None:
                await self.session.receive_audio(bytes_data)
            else:
                await self.session.receive_control(text_data or "")
        except SessionEnded as ended:
            await self.end(ended)

    async def watch(self) -> None:
        try:
            await self.session.watch()
        except SessionEnded as ended:
            await self.end(ended)

    async def end(self, ended: SessionEnded) -> None:
        if ended.code != 1000:
            await self.event({"type": "error", "message": str(ended)})
        # The session and its lock are freed before the close goes out, not when the client gets
        # round to closing too: a page that starts again on the close must not find its own
        # session still open ("already open" was seen right after a stop).
        await self.disconnect(ended.code)
        await self.close(code=ended.code)

    # The session's outbox.

    async def event(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    async def audio(self, pcm: bytes) -> None:
        await self.send(bytes_data=pcm)

    async def turn_started(self, user_message: Message, answer: Message) -> None:
        html = await database_sync_to_async(render_to_string)(
            "chat/partials/turn_started.html",
            {"new_messages": [user_message, answer], "conversation": self.conversation},
        )
        await self.event({"type": "turn_started", "transcript": user_message.content, "html": html})

    async def transcribed(self, user_message: Message) -> None:
        html = await database_sync_to_async(render_to_string)(
            "chat/partials/transcribed.html",
            {"user_message": user_message, "conversation": self.conversation},
        )
        await self.event({"type": "transcribed", "transcript": user_message.content, "html": html})

    async def answer_delta(self, answer: Message, text: str) -> None:
        html = f'<span hx-swap-oob="beforeend:#{answer.dom_id}-text">{escape(text)}</span>'
        await self.event({"type": "answer_delta", "text": text, "html": html})

    async def answer_finished(self, answer: Message) -> None:
        html = await database_sync_to_async(render_to_string)(
            "chat/partials/message.html", {"message": answer, "swap_oob": True}
        )
        await self.event(
            {
                "type": "answer_finished",
                "status": answer.status,
                "text": answer.content,
                "html": html,
            }
        )
