"""Chat text reaches mem0 only from our tables: deleted there, it never reaches a prompt again."""

import json
import logging

import pytest
from django.urls import reverse

from accounts.models import User
from chat.models import Conversation, Message
from memories import extraction
from memories.forms import DELETE_ALL_CONFIRMATION
from memories.mem0_bridge import mem0_memory
from memories.models import Memory

SECRET = "locker code Zanzibar-7731"
NURSE = '{"memory": [{"text": "Works as a nurse"}]}'


def extract_turn(conversation: Conversation, said: str, answered: str = "Noted.") -> Message:
    conversation.messages.create(role=Message.Role.USER, content=said)
    answer = conversation.messages.create(role=Message.Role.ASSISTANT, content=answered)
    extraction.extract_from_turn(answer)
    return answer


def tell_the_secret(conversation: Conversation) -> None:
    extract_turn(conversation, f"My {SECRET}, and I work as a nurse.", f"I'll keep {SECRET} safe.")


def sent_to_the_model(upstream) -> str:
    return json.dumps(upstream.chat_bodies(), ensure_ascii=False)


@pytest.fixture
def secret_told(upstream, user, conversation) -> None:
    upstream.script_chat(NURSE)
    tell_the_secret(conversation)
    assert Memory.objects.filter(owner=user, text="Works as a nurse").exists()
    assert SECRET in sent_to_the_model(upstream)
    upstream.reset()


def test_a_deleted_conversation_is_never_sent_again(
    secret_told, upstream, user, conversation, client_for, make_conversation
):
    client_for(user).post(reverse("chat:delete", args=[conversation.pk]))
    assert not Conversation.objects.filter(pk=conversation.pk).exists()

    extract_turn(make_conversation(user), "I drink tea every morning.")

    assert upstream.chat_bodies()
    assert SECRET not in sent_to_the_model(upstream)


def test_deleting_all_memories_leaves_no_copy_for_other_conversations(
    secret_told, upstream, user, client_for, make_conversation
):
    client_for(user).post(reverse("memories:delete_all"), {"confirmation": DELETE_ALL_CONFIRMATION})
    assert not Memory.objects.filter(owner=user).exists()

    extract_turn(make_conversation(user), "I drink tea every morning.")

    assert upstream.chat_bodies()
    assert SECRET not in sent_to_the_model(upstream)


def test_a_new_account_with_a_deleted_accounts_id_gets_none_of_its_text(
    secret_told, upstream, user, client_for, make_conversation
):
    old_id = user.pk
    client_for(user).post(reverse("delete_account"))
    assert not User.objects.filter(pk=old_id).exists()

    # What a recreated database does: the next account is given the same number.
    newcomer = User.objects.create_user(id=old_id, username="newcomer", password="x")
    extract_turn(make_conversation(newcomer), "I drink tea every morning.")

    assert upstream.chat_bodies()
    assert SECRET not in sent_to_the_model(upstream)


def test_no_file_under_the_mem0_directory_nor_log_line_holds_chat_text(
    upstream, conversation, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    upstream.script_chat(NURSE)
    tell_the_secret(conversation)

    assert Memory.objects.filter(text="Works as a nurse").exists()
    files = [path for path in settings.MEM0_DIR.rglob("*") if path.is_file()]
    assert [path for path in files if SECRET.encode() in path.read_bytes()] == []
    assert SECRET not in caplog.text


def test_the_model_sees_the_turns_before_it_from_that_conversation_only(
    upstream, user, conversation, make_conversation
):
    make_conversation(user).messages.create(role=Message.Role.USER, content="I have a cat.")
    conversation.messages.create(role=Message.Role.USER, content="I bought a cello.")
    conversation.messages.create(role=Message.Role.ASSISTANT, content="What a fine instrument.")
    upstream.script_chat('{"memory": [{"text": "Plays the cello every day"}]}')

    extract_turn(conversation, "I play it every day.", "Wonderful.")

    prompt = upstream.chat_bodies()[0]["messages"][1]["content"]
    earlier, new = prompt.split("## Last k Messages", 1)[1].split("## New Messages", 1)
    assert "user: I bought a cello." in earlier
    assert "assistant: What a fine instrument." in earlier
    assert "I play it every day." not in earlier and "I play it every day." in new
    assert "I have a cat." not in prompt
    assert Memory.objects.filter(owner=user, text="Plays the cello every day").exists()


def test_another_accounts_turn_is_never_read_as_context(
    upstream, user, other_user, make_conversation
):
    theirs = make_conversation(other_user)
    theirs.messages.create(role=Message.Role.USER, content=f"My {SECRET}.")
    their_turn = theirs.messages.create(role=Message.Role.USER, content="Anything else?")

    mem0_memory().add(
        "I drink tea.", user_id=str(user.memory_key), run_id=str(their_turn.pk), infer=True
    )

    assert upstream.chat_bodies()
    assert SECRET not in sent_to_the_model(upstream)
