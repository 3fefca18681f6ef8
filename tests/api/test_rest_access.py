"""Who reaches what through the REST API: every endpoint, for every kind of unwelcome token."""

import pytest

from memories import tokens
from memories.models import AccessToken, Memory
from tests.api.conftest import expire

MISSING = "00000000-0000-0000-0000-000000000000"

# (method, path, body); {id} is a person-level memory of the user.
ENDPOINTS = [
    ("POST", "/memories", {"text": "Plays the cello"}),
    ("GET", "/memories", None),
    ("POST", "/memories/search", {"query": "violin"}),
    ("GET", "/memories/{id}", None),
    ("PATCH", "/memories/{id}", {"text": "Plays the viola"}),
    ("DELETE", "/memories/{id}", None),
    ("GET", "/memories/{id}/history", None),
    ("POST", "/recall-preview", {"message": "What instrument do I play?"}),
]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]
WRITES = [endpoint for endpoint in ENDPOINTS if endpoint[0] in ("POST", "PATCH", "DELETE")]
WRITES = [w for w in WRITES if w[1] != "/memories/search" and w[1] != "/recall-preview"]
IDS = [f"{method} {path}" for method, path, _ in ENDPOINTS]


@pytest.fixture
def violin(user, make_memory) -> Memory:
    return make_memory(user, "Plays the violin", kind="profile")


def call(api, endpoint, memory):
    method, path, body = endpoint
    return api.request(method, path.format(id=memory.pk), body)


def assert_untouched(memory: Memory) -> None:
    memory.refresh_from_db()
    assert memory.text == "Plays the violin"
    assert memory.status == Memory.Status.ACTIVE
    assert Memory.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_no_token_is_refused_with_json(endpoint, api_as, violin):
    response = call(api_as(None), endpoint, violin)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"] == "Bearer"
    assert_untouched(violin)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_revoked_token_is_refused_at_once(endpoint, api_as, violin, writer, user):
    assert call(api_as(writer), ("GET", "/memories", None), violin).status_code == 200
    tokens.revoke_token(tokens.tokens_of(user).get())

    response = call(api_as(writer), endpoint, violin)

    assert response.status_code == 401
    assert_untouched(violin)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_an_expired_token_is_refused(endpoint, api_as, violin, writer):
    expire(writer)

    response = call(api_as(writer), endpoint, violin)

    assert response.status_code == 401
    assert_untouched(violin)


def test_an_unknown_or_malformed_token_is_refused(api_as, violin):
    for secret in ("rcl_not-a-real-token", "garbage", tokens.SECRET_PREFIX):
        assert api_as(secret).get("/memories").status_code == 401


@pytest.mark.parametrize("endpoint", BY_ID, ids=[f"{m} {p}" for m, p, _ in BY_ID])
def test_a_foreign_token_finds_nothing_by_id(endpoint, api_as, violin, make_token, other_user):
    foreign = make_token(other_user, scope="all", can_write=True)

    response = call(api_as(foreign), endpoint, violin)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert_untouched(violin)


def test_a_foreign_token_lists_searches_and_previews_none_of_the_users(
    api_as, violin, make_token, other_user
):
    foreign = api_as(make_token(other_user, scope="all", can_write=True))

    listed = foreign.get("/memories").json()
    searched = foreign.post("/memories/search", {"query": "violin"}).json()
    previewed = foreign.post("/recall-preview", {"message": "Do I play the violin?"}).json()
    added = foreign.post("/memories", {"text": "Plays the violin"})

    assert listed["items"] == [] and listed["count"] == 0
    assert searched["results"] == []
    assert previewed["memories"] == [] and "violin" not in previewed["context"]
    assert added.status_code == 201
    assert added.json()["created"] is True
    assert Memory.objects.get(pk=added.json()["memory"]["id"]).owner == other_user
    assert_untouched_for_user(violin)


def assert_untouched_for_user(memory: Memory) -> None:
    memory.refresh_from_db()
    assert memory.text == "Plays the violin" and memory.status == Memory.Status.ACTIVE


@pytest.mark.parametrize("endpoint", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_read_only_token_cannot_write(endpoint, api_as, violin, make_token, user):
    reader = make_token(user, scope="all", can_write=False)

    response = call(api_as(reader), endpoint, violin)

    assert response.status_code == 403
    assert response.json() == {"detail": "This token is read only."}
    assert_untouched(violin)


def test_a_read_only_token_reads(api_as, violin, make_token, user):
    reader = api_as(make_token(user))

    assert reader.get(f"/memories/{violin.pk}").json()["text"] == "Plays the violin"
    assert reader.post("/memories/search", {"query": "violin"}).json()["results"]


@pytest.fixture
def project_token(make_token, make_project, user):
    project = make_project(user)
    return project, make_token(user, scope="project", project=project, can_write=True)


@pytest.mark.parametrize("endpoint", BY_ID, ids=[f"{m} {p}" for m, p, _ in BY_ID])
def test_a_project_token_does_not_reach_the_person(endpoint, api_as, violin, project_token):
    _, secret = project_token

    response = call(api_as(secret), endpoint, violin)

    assert response.status_code == 404
    assert_untouched(violin)


def test_a_project_token_lists_searches_and_writes_only_its_project(
    api_as, violin, project_token, make_memory, user
):
    project, secret = project_token
    api = api_as(secret)
    make_memory(user, "The violin lessons are on Tuesdays", project_id=project.pk)

    listed = [item["text"] for item in api.get("/memories").json()["items"]]
    searched = [
        hit["memory"]["text"]
        for hit in api.post("/memories/search", {"query": "violin"}).json()["results"]
    ]
    person_search = api.post("/memories/search", {"query": "violin", "scope": "person"})
    person_list = api.get("/memories?scope=person")
    person_add = api.post("/memories", {"text": "Owns a cello", "scope": "person"})
    added = api.post("/memories", {"text": "The luthier is in Cremona"})
    previewed = api.post("/recall-preview", {"message": "Tell me about the violin"}).json()

    assert listed == ["The violin lessons are on Tuesdays"]
    assert searched == ["The violin lessons are on Tuesdays"]
    assert person_search.status_code == 404
    assert person_list.status_code == 404
    assert person_add.status_code == 404
    assert added.json()["memory"]["scope"] == f"project:{project.pk}"
    assert "Plays the violin" not in previewed["context"]
    assert not Memory.objects.filter(text="Owns a cello").exists()


def test_a_person_token_does_not_reach_a_project(api_as, make_memory, make_project, user, writer):
    project = make_project(user)
    secret = make_memory(user, "The budget is 40k", project_id=project.pk)
    api = api_as(writer)

    assert api.get(f"/memories/{secret.pk}").status_code == 404
    assert api.post("/memories/search", {"query": "budget"}).json()["results"] == []
    assert api.post("/memories", {"text": "x", "scope": f"project:{project.pk}"}).status_code == 404


def test_an_all_token_reaches_the_person_and_every_project(
    api_as, make_token, make_memory, make_project, user, other_user
):
    project = make_project(user)
    foreign_project = make_project(other_user, "Their garden")
    make_memory(user, "Plays the violin")
    make_memory(user, "The violin case is in the project van", project_id=project.pk)
    api = api_as(make_token(user, scope="all", can_write=True))

    texts = {
        hit["memory"]["text"]
        for hit in api.post("/memories/search", {"query": "violin"}).json()["results"]
    }
    narrowed = api.post(
        "/memories/search", {"query": "violin", "scope": f"project:{project.pk}"}
    ).json()
    into_foreign = api.post("/memories", {"text": "x", "scope": f"project:{foreign_project.pk}"})

    assert texts == {"Plays the violin", "The violin case is in the project van"}
    assert [hit["memory"]["scope"] for hit in narrowed["results"]] == [f"project:{project.pk}"]
    assert into_foreign.status_code == 404


def test_a_missing_memory_is_404_json(api_as, writer):
    response = api_as(writer).get(f"/memories/{MISSING}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_deactivated_account_s_tokens_stop_working(api_as, writer, user):
    user.is_active = False
    user.save()

    assert api_as(writer).get("/memories").status_code == 401


def test_tokens_are_stored_hashed(user, make_token):
    secret = make_token(user)

    token = AccessToken.objects.get()
    assert secret not in {token.secret_hash, token.prefix, token.name}
    assert token.secret_hash == tokens.hash_secret(secret)
