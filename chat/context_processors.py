"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest

from chat import agent


def model_info(request: HttpRequest) -> dict[str, object]:
    return {
        "model_name": agent.model_name(),
        "offline_model": agent.uses_offline_model(),
        "voice_enabled": settings.VOICE_ENABLED,
    }
