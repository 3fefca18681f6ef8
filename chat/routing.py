from django.urls import path

from chat.consumers import ChatConsumer
from chat.voice.consumer import VoiceConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:conversation_id>/", ChatConsumer.as_asgi()),
    path("ws/voice/<int:conversation_id>/", VoiceConsumer.as_asgi()),
]
