"""Limits and bad input: rate limits, body sizes, and a JSON error naming the field for each."""

import pytest
from django.core.cache import cache

from memories.models import Memory


@pytest.fixture(autouse=True)
def _empty_rate_counters():
    cache.clear()
    yield
    cache.clear()


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(
    api_as, writer, make_token, user, settings
):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    api = api_as(writer)
    other = api_as(make_token(user, "other agent"))

    statuses = [api.get("/memories").status_code for _ in range(4)]
    refused = api.get("/memories")

    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Too many requests")
    assert other.get("/memories").status_code == 200


def test_a_huge_body_is_refused_before_it_is_read(api_as, writer, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = api_as(writer).post("/memories", {"text": "x" * 1500})

    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert Memory.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "Likes tea", "colour": "red"}, "body.colour"),
        ({"text": 42}, "body.text"),
        ({"text": ""}, "body.text"),
        ({"text": "x" * 2001}, "body.text"),
        ({"text": "Likes tea", "kind": "gossip"}, "body.kind"),
        ({"text": "Likes tea", "tags": "tea"}, "body.tags"),
        ({"text": "Likes tea", "expires_at": "next tuesday"}, "body.expires_at"),
        ({"text": "Likes tea", "scope": "everyone"}, "body.scope"),
        ({"text": "Likes tea", "metadata": {"nested": {"a": 1}}}, "body.metadata.nested.str"),
        ({}, "body.text"),
    ],
)
def test_bad_input_to_add_names_the_field(api_as, writer, body, field):
    response = api_as(writer).post("/memories", body)

    assert response.status_code == 400
    assert response.json()["field"].startswith(
        field.rsplit(".", 1)[0] if field.endswith(".str") else field
    )
    assert Memory.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/memories?limit=0", "query.limit"),
        ("/memories?limit=1000", "query.limit"),
        ("/memories?offset=-1", "query.offset"),
        ("/memories?kind=gossip", "query.kind"),
        ("/memories?scope=project:abc", "query.scope"),
        ("/memories/not-a-uuid", "path.memory_id"),
    ],
)
def test_invalid_filters_name_the_parameter(api_as, writer, path, field):
    response = api_as(writer).get(path)

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_bad_search_and_update_bodies_name_the_field(api_as, writer, make_memory, user):
    memory = make_memory(user, "Likes tea")
    api = api_as(writer)

    assert (
        api.post("/memories/search", {"query": "tea", "limit": 500}).json()["field"] == "body.limit"
    )
    assert (
        api.post("/memories/search", {"query": "tea", "sort": "new"}).json()["field"] == "body.sort"
    )
    assert (
        api.patch(f"/memories/{memory.pk}", {"txt": "Likes coffee"}).json()["field"] == "body.txt"
    )
    memory.refresh_from_db()
    assert memory.text == "Likes tea"


def test_malformed_json_is_a_400_naming_the_body(api_as, writer):
    response = api_as(writer).post("/memories", raw='{"text": "unterminated')

    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_every_failure_under_api_is_json(api_as, writer):
    api = api_as(writer)

    for response in (
        api.get("/no-such-endpoint"),
        api.request("PUT", "/memories", {}),
        api.get("/../memories/"),
    ):
        assert response.status_code in (404, 405)
        assert response["Content-Type"].startswith("application/json"), response.content
