"""Which model answers: the configured upstream, or the built-in offline model when none is set.

A leaf module (it reads settings and nothing else) because both the chat and the memory layer
need to know, and the memory layer may not import the chat.
"""

from django.conf import settings

OFFLINE_MODEL_NAME = "offline-demo"


def uses_offline_model() -> bool:
    return not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def model_name() -> str:
    return OFFLINE_MODEL_NAME if uses_offline_model() else settings.OPENAI_MODEL
