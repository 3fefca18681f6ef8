"""In a real browser: the phone layout, and the site used from the keyboard alone."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat

# The README's picture of the phone layout; a run redraws it only when asked to, so a test run
# leaves the working tree as it found it.
SCREENSHOT = Path(__file__).resolve().parents[2] / ".github" / "screenshots" / "mobile.png"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _overflows(page) -> list[str]:
    """Nothing, or what sticks out past the right edge of the screen."""
    return page.evaluate(
        """() => document.scrollingElement.scrollWidth <= innerWidth ? [] :
        [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > innerWidth)
            .map(e => e.tagName + "." + e.className)"""
    )


def test_on_a_phone_the_sidebar_folds_away_and_the_composer_stays_at_the_bottom(
    phone, live_server_url, tmp_path
):
    sign_up(phone, live_server_url)
    start_new_chat(phone)
    send(phone, "I prefer green tea for breakfast. " + "A long line without breaks " * 20)
    send(phone, "Show me a wide table: " + "x" * 300)
    expect(phone.locator(".message--assistant.message--complete")).to_have_count(2)

    sidebar = phone.locator("#sidebar")
    toggle = phone.get_by_role("button", name="Chats")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    composer = phone.locator("#composer").bounding_box()
    assert composer["y"] + composer["height"] > 844 - 60
    assert _overflows(phone) == []
    phone.screenshot(path=str(SCREENSHOT if UPDATE_SCREENSHOTS else tmp_path / "mobile.png"))

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert _overflows(phone) == []
    phone.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()

    for path in ("/memories/", "/search/?q=tea"):
        phone.goto(live_server_url + path)
        assert _overflows(phone) == [], path


def test_the_help_dialog_opens_and_closes_by_keyboard(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)
    page.evaluate("document.activeElement.blur()")

    page.keyboard.press("?")

    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New chat")
    expect(dialog).to_contain_text("Search chats")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    close = dialog.get_by_role("button", name="Close")
    expect(close).to_be_focused()
    outline = close.evaluate("e => getComputedStyle(e).outlineStyle")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert outline == "solid"


def test_shortcuts_focus_the_composer_and_start_a_new_chat(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)
    first_chat = page.url
    page.locator("#chat-search").focus()

    page.keyboard.press("Shift+Escape")
    expect(page.locator("#composer textarea")).to_be_focused()

    page.keyboard.press("Control+Shift+O")
    expect(page).not_to_have_url(first_chat)
    expect(page.locator(".chat__title")).to_have_text("New chat")
