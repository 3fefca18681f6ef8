"""The door of the MCP endpoint, in-process: the rate limit and the route beside Django."""

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache

from api.mcp_server import with_mcp
from memories import tokens


async def django_stand_in(scope, receive, send):
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def app_client():
    transport = httpx.ASGITransport(app=with_mcp(django_stand_in))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


@pytest.mark.django_db(transaction=True)
async def test_a_token_over_its_rate_limit_gets_429_with_retry_after(
    app_client, make_user, settings
):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    await sync_to_async(cache.clear)()
    user = await sync_to_async(make_user)()
    secret = (await sync_to_async(tokens.create_token)(user, "agent")).secret

    async with app_client as client:
        response = await client.post("/mcp", json={}, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_other_paths_go_to_django(app_client):
    async with app_client as client:
        assert (await client.get("/mcpx")).status_code == 204
        assert (await client.get("/api/v1/memories")).status_code == 204
