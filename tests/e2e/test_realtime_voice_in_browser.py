"""Voice through the Realtime engine in a real browser: the page's microphone goes to our server,
which relays it to a Realtime test server on 127.0.0.1, answers its function call with our
tools, and stops the answer when the person speaks over it."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import serve_app
from tests.e2e.microphone import fake_microphone
from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat
from tests.realtime_upstream import RealtimeServer, Say

SENTENCE = "I live in Porto and I prefer window seats."
# Twenty words of a quarter second each: still playing when the person speaks again.
LONG_ANSWER = (
    "Noted, you live in Porto and like window seats, and I will keep that in mind "
    "whenever we plan a trip or book a flight together."
)


@pytest.fixture(scope="module")
def realtime_server() -> Iterator[RealtimeServer]:
    with RealtimeServer() as server:
        yield server


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory, realtime_server) -> Iterator[str]:
    with serve_app(
        tmp_path_factory.mktemp("e2e-realtime"),
        VOICE_ENABLED="true",
        VOICE_ENGINE="realtime",
        OPENAI_REALTIME_URL=realtime_server.base_url,
        OPENAI_REALTIME_MODEL="test-realtime",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser_args(tmp_path_factory) -> list[str]:
    return fake_microphone(tmp_path_factory.mktemp("microphone"), SENTENCE)


def test_a_realtime_voice_turn_calls_a_tool_is_cut_short_and_a_typed_chat_remembers_it(
    page, live_server_url, realtime_server
):
    realtime_server.script(
        Say(
            SENTENCE,
            LONG_ANSWER,
            call=("remember", {"text": "Lives in Porto, prefers window seats", "kind": "profile"}),
        ),
        # Transcribed after the answer, as the real API often does: the words fill the message.
        Say("Thanks, that is all.", "You are welcome.", transcription="after"),
    )
    sign_up(page, live_server_url)
    start_new_chat(page)

    page.get_by_role("button", name="Talk").click()

    said, thanks = page.locator(".message--user").nth(0), page.locator(".message--user").nth(1)
    # The first session of a fresh server waits for the embedding model to recall with.
    expect(said).to_contain_text(SENTENCE, timeout=120_000)
    expect(said.get_by_text("Spoken", exact=True)).to_be_visible()
    # The person spoke again while the first answer played: it stops where they cut in.
    cut_short = page.locator(".message--assistant").nth(0)
    expect(cut_short).to_contain_text("Interrupted: you started speaking", timeout=60_000)
    expect(cut_short).to_have_class("message message--assistant message--incomplete")
    expect(cut_short.get_by_text("1 tool call")).to_be_visible()
    heard = cut_short.locator(".message__text").inner_text().strip()
    said_words = len(heard.split())
    assert 1 <= said_words < len(LONG_ANSWER.split())
    assert heard == " ".join(LONG_ANSWER.split()[:said_words])
    expect(thanks).to_contain_text("Thanks, that is all.")
    expect(page.locator(".message--assistant").nth(1)).to_contain_text("You are welcome.")
    page.get_by_role("button", name="Stop talking").click()
    expect(page.get_by_role("button", name="Talk")).to_have_attribute("aria-pressed", "false")
    assert realtime_server.events("response.cancel")
    assert realtime_server.events("conversation.item.truncate")

    start_new_chat(page)
    send(page, "Where do I live, and which seats do I like?")

    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("Lives in Porto, prefers window seats")
