"""In a real browser: search finds a message in an old conversation and opens it there."""

import re

from playwright.sync_api import expect

from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat


def test_search_finds_a_message_in_an_old_conversation_and_opens_it_there(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)
    send(page, "Which ferry goes to Stromboli?")
    expect(page.locator(".message--assistant.message--complete")).to_have_count(1)
    # Enough later turns that the first message is scrolled out of view.
    for number in range(6):
        send(page, f"Another question, number {number}, with a longer line to fill the screen.")
        expect(page.locator(".message--assistant.message--complete")).to_have_count(number + 2)
    old_chat_url = page.url
    start_new_chat(page)

    # The composer has focus, where "/" is typed as text; Ctrl+K works from anywhere.
    page.keyboard.press("Control+K")
    expect(page.locator("#chat-search")).to_be_focused()
    page.keyboard.type("stromboli")

    # The chat's title (its first message) matches too; this hit is the message itself.
    hit = page.locator(".search-hit__link[href*='#message-']").first
    expect(hit).to_contain_text("Which ferry goes to")
    expect(hit.locator("mark")).to_have_text("Stromboli")
    hit.click()

    expect(page).to_have_url(re.compile(re.escape(old_chat_url) + r"#message-\d+$"))
    found = page.locator(".message:target")
    expect(found).to_contain_text("Which ferry goes to Stromboli?")
    expect(found).to_be_in_viewport()
    outline = found.locator(".message__bubble").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"


def test_a_search_of_only_punctuation_gets_a_clear_answer_in_the_sidebar(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)

    page.locator("#chat-search").fill("?!;")

    expect(page.locator("#search-results")).to_contain_text("punctuation alone matches nothing")
