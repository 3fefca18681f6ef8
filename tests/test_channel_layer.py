"""REDIS_URL picks the Redis channel layer, which carries messages between processes."""

import os

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: CI runs this in its PostgreSQL and Redis pass")
    return url


async def test_two_processes_layers_exchange_group_messages(redis_url):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisChannelLayer")
    # Two layer instances share nothing in memory, like two Daphne processes.
    sender = RedisChannelLayer(hosts=[redis_url])
    receiver = get_channel_layer()
    channel = await receiver.new_channel()
    await receiver.group_add("layer-test", channel)
    try:
        await sender.group_send("layer-test", {"type": "chat.ping", "text": "hello"})
        message = await receiver.receive(channel)
    finally:
        await receiver.group_discard("layer-test", channel)
        await sender.close_pools()
    assert message == {"type": "chat.ping", "text": "hello"}


def test_without_redis_the_in_memory_layer_is_used():
    if os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is set: this run uses Redis")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
