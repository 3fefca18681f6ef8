"""Login throttling: too many wrong passwords lock an account and an address for a while."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 5


def log_in(client, username: str, password: str, address: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail_logins(client, username: str, address: str, times: int = 5) -> None:
    for attempt in range(times):
        log_in(client, username, f"wrong guess {attempt}", address)


def test_after_too_many_wrong_passwords_the_right_one_is_refused_with_a_clear_message(client, user):
    fail_logins(client, user.username, ATTACKER)

    response = log_in(client, user.username, PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "15 minutes" in page
    assert 'name="password"' in page


def test_the_account_is_locked_from_another_address_too(client, user):
    fail_logins(client, user.username, ATTACKER)

    response = log_in(client, user.username, PASSWORD, OWNER)

    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_address_is_locked_for_every_account(client, user, other_user):
    for number in range(5):
        log_in(client, f"guessed-name-{number}", "wrong", ATTACKER)

    response = log_in(client, other_user.username, PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_few_mistakes_do_not_lock_anyone_out(client, user):
    fail_logins(client, user.username, OWNER, times=4)

    response = log_in(client, user.username, PASSWORD, OWNER)

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_the_lock_ends_after_the_cool_off_period(client, user, settings):
    fail_logins(client, user.username, ATTACKER)
    from axes.models import AccessAttempt

    # The cool-off period is counted from the last failure.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = log_in(client, user.username, PASSWORD, OWNER)

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_failed_logins_put_no_typed_username_in_the_logs(client, caplog, db):
    typed = "someone-typed-their-passphrase-here"

    with caplog.at_level("DEBUG"):
        fail_logins(client, typed, ATTACKER)
        log_in(client, typed, "wrong", ATTACKER)

    assert caplog.records
    assert typed not in caplog.text


async def test_the_lock_holds_under_asgi_too(async_client, transactional_db, make_user):
    owner = await sync_to_async(make_user)("asgi-owner")
    for attempt in range(5):
        await async_client.post(
            reverse("login"), {"username": owner.username, "password": f"wrong {attempt}"}
        )

    response = await async_client.post(
        reverse("login"), {"username": owner.username, "password": PASSWORD}
    )

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
