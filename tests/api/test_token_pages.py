"""The API access pages and the token admin: a secret is shown once, revocation is immediate."""

import re

import pytest

from memories import tokens
from memories.models import AccessToken
from tests.api.conftest import Api


def create(client, **fields):
    return client.post("/memories/tokens/", {"name": "laptop agent", "scope": "person", **fields})


def test_a_new_token_is_shown_once_and_works(client, user):
    response = create(client, can_write="on")

    secret = re.search(r'<code id="new-token">([^<]+)</code>', response.content.decode())[1]
    assert response["Cache-Control"] == "no-store"
    assert secret not in client.get("/memories/tokens/").content.decode()
    token = AccessToken.objects.get()
    assert (token.owner, token.can_write, token.scope) == (user, True, "person")
    assert token.secret_hash != secret
    assert Api(secret).post("/memories", {"text": "Likes jazz"}).status_code == 201


def test_a_token_for_one_project(client, user, make_project):
    project = make_project(user)

    create(client, scope=f"project:{project.pk}")

    token = AccessToken.objects.get()
    assert (token.scope, token.project, token.can_write) == ("project", project, False)


def test_another_person_s_project_is_not_a_choice(client, other_user, make_project):
    theirs = make_project(other_user)

    response = create(client, scope=f"project:{theirs.pk}")

    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_an_expiry_in_the_past_is_refused(client):
    response = create(client, expires_at="2001-01-01T10:00")

    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_revoking_on_the_page_stops_the_token_at_once(client, user, make_token):
    secret = make_token(user)
    token = AccessToken.objects.get()
    assert Api(secret).get("/memories").status_code == 200

    client.post(f"/memories/tokens/{token.pk}/revoke/")

    assert Api(secret).get("/memories").status_code == 401
    assert "revoked" in client.get("/memories/tokens/").content.decode()


def test_another_person_s_token_is_not_found(client, other_user, make_token):
    secret = make_token(other_user)
    theirs = AccessToken.objects.get()

    assert client.get(f"/memories/tokens/{theirs.pk}/").status_code == 404
    assert client.post(f"/memories/tokens/{theirs.pk}/revoke/").status_code == 404
    assert Api(secret).get("/memories").status_code == 200


def test_the_memory_and_token_pages_show_the_log(client, user, make_memory, writer):
    memory = make_memory(user, "Collects stamps")
    Api(writer).post("/memories/search", {"query": "stamps"})
    token = AccessToken.objects.get()

    memory_page = client.get(f"/memories/{memory.pk}/").content.decode()
    token_page = client.get(f"/memories/tokens/{token.pk}/").content.decode()

    assert "POST /api/v1/memories/search" in memory_page and "laptop agent" in memory_page
    assert "POST /api/v1/memories/search" in token_page and "Collects stamps" in token_page


@pytest.fixture
def admin_client(client_for, make_user):
    admin = make_user("root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return client_for(admin)


def test_the_admin_lists_and_revokes_tokens_but_never_shows_the_secret(
    admin_client, user, make_token
):
    secret = make_token(user)
    token = AccessToken.objects.get()

    listing = admin_client.get("/admin/memories/accesstoken/").content.decode()
    page = admin_client.get(f"/admin/memories/accesstoken/{token.pk}/change/").content.decode()
    admin_client.post(
        "/admin/memories/accesstoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert "laptop agent" in listing
    assert secret not in listing + page and token.secret_hash not in listing + page
    with pytest.raises(tokens.TokenRefused):
        tokens.authenticate(secret)
