"""Sign-up, login, logout and account deletion, through the Django test client."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from chat.models import Conversation, Message

NEW_PASSWORD = "a long unusual passphrase 42"
NUL = "\x00"


@pytest.fixture
def chatting_user(make_conversation, make_turn, user) -> User:
    conversation = make_conversation(user, title="Holiday plans")
    make_turn(conversation, "Book the train.", "Booked.")
    return user


def logged_in_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


def test_signup_creates_the_account_logs_in_and_opens_the_chat(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    user = User.objects.get(username="newcomer")
    assert user.check_password(NEW_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    assert logged_in_user_id(client) == str(user.pk)
    assert client.get(reverse("chat:home")).status_code == 200


def test_signup_with_mismatched_passwords_shows_the_form_again(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "!"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    assert not User.objects.filter(username="newcomer").exists()
    assert logged_in_user_id(client) is None


def test_signup_with_a_taken_username_is_refused(client, user):
    response = client.post(
        "/accounts/signup/",
        {"username": user.username, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["username"]
    assert User.objects.filter(username=user.username).count() == 1


def test_signup_page_sends_a_logged_in_user_to_the_chat(client_for, user):
    response = client_for(user).get("/accounts/signup/")

    assert response.status_code == 302
    assert response.url == reverse("chat:home")


def test_login_with_the_right_password_opens_the_chat(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})

    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    assert logged_in_user_id(client) == str(user.pk)


def test_login_goes_back_to_the_page_that_asked_for_it(client, conversation, user, password):
    url = conversation.get_absolute_url()

    response = client.post(
        reverse("login"), {"username": user.username, "password": password, "next": url}
    )

    assert response.status_code == 302
    assert response.url == url


def test_login_with_a_wrong_password_is_refused(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert logged_in_user_id(client) is None


def test_logout_by_post_logs_out(client_for, user):
    client = client_for(user)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert logged_in_user_id(client) is None
    assert client.get(reverse("chat:home")).status_code == 302


def test_logout_by_get_is_not_allowed(client_for, user):
    client = client_for(user)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert logged_in_user_id(client) == str(user.pk)


def test_delete_account_page_asks_first_and_deletes_nothing(client_for, chatting_user):
    response = client_for(chatting_user).get(reverse("delete_account"))

    assert response.status_code == 200
    assert User.objects.filter(pk=chatting_user.pk).exists()
    assert Message.objects.filter(conversation__owner=chatting_user).count() == 2


def test_deleting_the_account_removes_the_user_their_conversations_and_messages(
    client_for, chatting_user, other_user, make_conversation, make_message
):
    kept = make_conversation(other_user)
    make_message(kept, "Not yours to delete.")
    client = client_for(chatting_user)

    response = client.post(reverse("delete_account"))

    assert response.status_code == 302
    assert response.url == reverse("signup")
    assert not User.objects.filter(pk=chatting_user.pk).exists()
    assert not Conversation.objects.filter(owner_id=chatting_user.pk).exists()
    assert not Message.objects.filter(content__in=["Book the train.", "Booked."]).exists()
    assert logged_in_user_id(client) is None
    assert Message.objects.filter(conversation=kept).count() == 1


def test_deleting_an_account_needs_login(client, db):
    response = client.post(reverse("delete_account"))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('delete_account')}"


@pytest.mark.parametrize(
    "fields",
    [
        {"username": f"new{NUL}comer"},
        {"password1": f"a long{NUL} passphrase 42", "password2": f"a long{NUL} passphrase 42"},
    ],
)
def test_signing_up_with_a_nul_is_refused(client, db, fields):
    form = {"username": "newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    response = client.post(reverse("signup"), {**form, **fields})

    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    assert not User.objects.filter(username__startswith="new").exists()


def test_logging_in_with_a_nul_is_refused_with_a_message(client, user):
    response = client.post(reverse("login"), {"username": f"{user.username}{NUL}", "password": "x"})

    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
