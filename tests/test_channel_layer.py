"""REDIS_URL picks the Redis channel layer, which carries messages between processes."""

import asyncio
import os

import pytest
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: CI runs this in its PostgreSQL and Redis pass")
    return url


async def test_two_processes_layers_exchange_group_messages(redis_url):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisPubSubChannelLayer")
    # Two layer instances share nothing in memory, like two Daphne processes.
    sender = RedisPubSubChannelLayer(hosts=[redis_url])
    receiver = get_channel_layer()
    channel = await receiver.new_channel()
    await receiver.group_add("layer-test", channel)
    try:
        await sender.group_send("layer-test", {"type": "chat.ping", "text": "hello"})
        message = await receiver.receive(channel)
    finally:
        await receiver.group_discard("layer-test", channel)
        await sender.flush()
    assert message == {"type": "chat.ping", "text": "hello"}


async def test_a_channel_waits_longer_than_redis_blocking_pop_for_its_next_message(redis_url):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    # Past channels_redis' 5 s blocking pop, and redis-py 8's default 5 s read timeout.
    await asyncio.sleep(7)
    await RedisPubSubChannelLayer(hosts=[redis_url]).send(channel, {"type": "chat.ping"})

    assert await asyncio.wait_for(waiting, 10) == {"type": "chat.ping"}


async def test_hundreds_of_messages_sent_at_once_all_arrive(redis_url):
    # As many frames at the same moment as 300 answers streaming to 300 sockets of one process
    # (which all read from one Redis list).
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(300)]
    groups = [f"burst-test-{number}" for number in range(300)]
    for group, channel in zip(groups, channels, strict=True):
        await layer.group_add(group, channel)
    try:
        await asyncio.gather(
            *(layer.group_send(group, {"type": "chat.ping", "group": group}) for group in groups)
        )
        received = [await asyncio.wait_for(layer.receive(channel), 10) for channel in channels]
    finally:
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_discard(group, channel)
    assert [message["group"] for message in received] == groups


def test_without_redis_the_in_memory_layer_is_used():
    if os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is set: this run uses Redis")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
