"""The MCP server, through the `mcp` SDK's own client, against the app served by Daphne."""

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import PASSWORD
from tests.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"add_memory", "search_memories", "delete_memory", "list_memories"}

# Runs in the server's database: two people, a project, a memory, and tokens of every kind.
SETUP = textwrap.dedent(
    """
    import json
    from datetime import timedelta
    from django.utils import timezone
    from accounts.models import User
    from chat.models import Project
    from memories import services, tokens
    alice = User.objects.create_user("alice", password=PASSWORD)
    bob = User.objects.create_user("bob", password=PASSWORD)
    project = Project.objects.create(owner=alice, name="Garden")
    violin = services.add_memory(alice, "Plays the violin").memory
    def secret(owner, name, **options):
        return tokens.create_token(owner, name, **options).secret
    revoked = tokens.create_token(alice, "old laptop", can_write=True)
    tokens.revoke_token(revoked.token)
    expired = tokens.create_token(alice, "trial", can_write=True)
    expired.token.expires_at = timezone.now() - timedelta(minutes=1)
    expired.token.save()
    print(json.dumps({
        "violin": str(violin.pk),
        "project": project.pk,
        "writer": secret(alice, "coding assistant", can_write=True),
        "reader": secret(alice, "read only"),
        "project_writer": secret(
            alice, "garden agent", scope="project", project=project, can_write=True
        ),
        "foreign": secret(bob, "bob's agent", scope="all", can_write=True),
        "revoked": revoked.secret,
        "expired": expired.secret,
    }))
    """
).replace("PASSWORD", repr(PASSWORD))


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[dict]:
    data_dir = tmp_path_factory.mktemp("mcp-data")
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "mcp-tests-only",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REDIS_URL": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], env=env, check=True, capture_output=True, text=True
    )
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, server)
        yield {
            "url": f"http://127.0.0.1:{port}",
            **json.loads(setup.stdout.strip().splitlines()[-1]),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def mcp_client(live: dict, secret: str | None) -> Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    http = httpx2.AsyncClient(headers=headers, timeout=60)
    return Client(streamable_http_client(f"{live['url']}/mcp", http_client=http))


async def call(live: dict, secret: str, tool: str, arguments: dict) -> tuple[bool, dict | str]:
    async with mcp_client(live, secret) as client:
        result = await client.call_tool(tool, arguments)
    if result.is_error:
        return True, re.sub(r"^Error executing tool \w+: ", "", result.content[0].text)
    return False, result.structured_content


def signed_in(live: dict) -> httpx.Client:
    browser = httpx.Client(base_url=live["url"], follow_redirects=True)
    browser.get("/accounts/login/")
    browser.post(
        "/accounts/login/",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": f"{live['url']}/accounts/login/"},
    )
    return browser


async def test_a_client_lists_the_tools_adds_a_memory_and_finds_it(live):
    async with mcp_client(live, live["writer"]) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        added = await client.call_tool(
            "add_memory", {"text": "Keeps three beehives", "tags": ["garden"]}
        )
        found = await client.call_tool("search_memories", {"query": "bees"})
        listed = await client.call_tool("list_memories", {"limit": 5})

    assert tools == TOOLS
    assert not added.is_error and added.structured_content["created"] is True
    memory_id = added.structured_content["memory"]["id"]
    assert found.structured_content["results"][0]["id"] == memory_id
    assert memory_id in {m["id"] for m in listed.structured_content["items"]}

    browser = signed_in(live)
    memory_page = browser.get(f"/memories/{memory_id}/").text
    token_page = browser.get("/memories/tokens/").text
    token_url = re.search(r'href="(/memories/tokens/\d+/)">coding assistant<', token_page)[1]
    token_log = browser.get(token_url).text
    assert "mcp:add_memory" in memory_page and "mcp:search_memories" in memory_page
    assert "coding assistant" in memory_page
    assert "mcp:add_memory" in token_log and "mcp:search_memories" in token_log
    assert "Keeps three beehives" in token_log


async def test_a_rest_write_and_an_mcp_read_share_one_memory_and_one_log(live):
    headers = {"Authorization": f"Bearer {live['writer']}"}
    async with httpx.AsyncClient(base_url=live["url"], headers=headers) as rest:
        response = await rest.post("/api/v1/memories", json={"text": "Prefers window seats"})
    added = response.json()

    error, found = await call(live, live["writer"], "search_memories", {"query": "window seat"})

    assert not error and found["results"][0]["id"] == added["memory"]["id"]
    memory_page = signed_in(live).get(f"/memories/{added['memory']['id']}/").text
    assert "POST /api/v1/memories" in memory_page and "mcp:search_memories" in memory_page


@pytest.mark.parametrize("tool", sorted(TOOLS))
@pytest.mark.parametrize("kind", ["none", "revoked", "expired", "garbage"])
def test_every_tool_refuses_a_missing_or_dead_token(live, tool, kind):
    secret = {"none": None, "garbage": "rcl_nope"}.get(kind, live.get(kind))
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {}},
    }

    response = httpx.post(f"{live['url']}/mcp", json=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == "Bearer"


def _arguments(tool: str, live: dict) -> dict:
    return {
        "add_memory": {"text": "Plays the cello"},
        "search_memories": {"query": "violin"},
        "list_memories": {},
        "delete_memory": {"memory_id": live["violin"]},
    }[tool]


async def test_a_foreign_token_sees_and_deletes_nothing_of_alices(live):
    for tool in ("search_memories", "list_memories"):
        error, result = await call(live, live["foreign"], tool, _arguments(tool, live))
        items = result.get("results", result.get("items"))
        assert not error and all(item["text"] != "Plays the violin" for item in items)
    error, message = await call(
        live, live["foreign"], "delete_memory", _arguments("delete_memory", live)
    )
    assert error and message == "Not found."
    error, _ = await call(live, live["writer"], "search_memories", {"query": "violin"})
    assert not error


async def test_a_read_only_token_reads_but_cannot_write(live):
    error, found = await call(live, live["reader"], "search_memories", {"query": "violin"})
    assert not error and found["results"][0]["id"] == live["violin"]
    for tool in ("add_memory", "delete_memory"):
        error, message = await call(live, live["reader"], tool, _arguments(tool, live))
        assert error and message == "This token is read only."
    _, still = await call(live, live["writer"], "list_memories", {"limit": 100})
    assert live["violin"] in {m["id"] for m in still["items"]}
    assert "Plays the cello" not in {m["text"] for m in still["items"]}


async def test_a_project_token_does_not_reach_the_person(live):
    token = live["project_writer"]
    _, found = await call(live, token, "search_memories", {"query": "violin"})
    _, listed = await call(live, token, "list_memories", {})
    deleted = await call(live, token, "delete_memory", {"memory_id": live["violin"]})
    person_add = await call(live, token, "add_memory", {"text": "Owns a cello", "scope": "person"})
    person_search = await call(
        live, token, "search_memories", {"query": "violin", "scope": "person"}
    )
    _, added = await call(live, token, "add_memory", {"text": "Tomatoes go in the south bed"})

    assert found["results"] == [] and all(m["scope"] != "person" for m in listed["items"])
    assert deleted == (True, "Not found.")
    assert person_add == (True, "Not found.")
    assert person_search == (True, "Not found.")
    assert added["memory"]["scope"] == f"project:{live['project']}"


async def test_bad_arguments_are_a_tool_error_naming_the_argument(live):
    error, message = await call(
        live, live["writer"], "search_memories", {"query": "x", "limit": 500}
    )

    assert error and "limit" in message


def test_a_huge_body_is_refused_before_it_is_read(live):
    headers = {"Authorization": f"Bearer {live['writer']}"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add_memory"}}
    body["params"]["arguments"] = {"text": "x" * 100_000}

    response = httpx.post(f"{live['url']}/mcp", json=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["field"] == "body"
