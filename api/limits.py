"""Per-token rate limits and body size limits, shared by the REST API and the MCP server."""

import math
import time

from django.conf import settings
from django.core.cache import cache

from memories.models import AccessToken

WINDOW_SECONDS = 60


class RateLimited(Exception):
    """Too many requests with one token in this minute."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests: retry in {retry_after} s.")
        self.retry_after = retry_after


class BodyTooLarge(Exception):
    """The request body is over API_MAX_BODY_BYTES."""

    def __init__(self) -> None:
        super().__init__(f"The request body is over {settings.API_MAX_BODY_BYTES} bytes.")


def check_rate(token: AccessToken) -> None:
    """Count one request for the token in the current minute; RateLimited past the limit."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    if cache.incr(key) > settings.API_RATE_LIMIT_PER_MINUTE:
        raise RateLimited(max(1, math.ceil((window + 1) * WINDOW_SECONDS - now)))


def check_body_size(content_length: str | None) -> None:
    if (
        content_length
        and content_length.isdigit()
        and int(content_length) > settings.API_MAX_BODY_BYTES
    ):
        raise BodyTooLarge
