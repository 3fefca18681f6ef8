"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest

from config import upstream


def model_info(request: HttpRequest) -> dict[str, object]:
    return {
        "model_name": upstream.model_name(),
        "offline_model": upstream.uses_offline_model(),
        "voice_enabled": settings.VOICE_ENABLED,
    }
