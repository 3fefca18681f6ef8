"""axe-core, run in a real browser, finds no serious or critical problem on the main pages."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat

SERIOUS_VIOLATIONS = """async () => (await axe.run(document, {resultTypes: ["violations"]}))
    .violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)"""


@pytest.fixture
def audited_page(browser, axe_script):
    # axe arrives as an inline script, which the pages' own CSP rightly refuses.
    context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)

    def violations() -> list[str]:
        page.add_script_tag(path=str(axe_script))
        return page.evaluate(SERIOUS_VIOLATIONS)

    page.violations = violations
    yield page
    context.close()


def test_the_login_and_sign_up_pages_pass_axe(audited_page, live_server_url):
    for path in ("/accounts/login/", "/accounts/signup/"):
        audited_page.goto(live_server_url + path)
        assert audited_page.violations() == [], path


def test_the_chat_dashboard_memory_and_search_pages_pass_axe(audited_page, live_server_url):
    page = audited_page
    sign_up(page, live_server_url)
    start_new_chat(page)
    send(page, "I prefer green tea for breakfast. Show me the **bold** and `code`.")
    expect(page.locator(".message--assistant.message--complete")).to_have_count(1)
    expect(page.locator(".answer-memory, [id$=-memory]").last).to_contain_text("green tea")
    assert page.violations() == [], "chat"

    page.keyboard.press("Control+K")
    page.keyboard.type("tea")
    expect(page.locator(".search-hit").first).to_be_visible()
    assert page.violations() == [], "chat with search results"

    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert page.violations() == [], "shortcuts dialog"
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Memories", exact=True).click()
    expect(page.locator("#memory-list")).to_contain_text("green tea")
    assert page.violations() == [], "dashboard"

    page.locator("#memory-list").get_by_role(
        "link", name="Prefers green tea for breakfast"
    ).first.click()
    expect(page.locator("h1")).to_be_visible()
    assert page.violations() == [], "memory detail"

    page.goto(f"{live_server_url}/search/?q=tea")
    assert page.violations() == [], "search page"


def test_the_streaming_answer_is_announced_politely_once(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)

    live_regions = page.locator("#messages [aria-live], #messages[aria-live]")

    expect(page.locator("#messages")).to_have_attribute("aria-live", "polite")
    send(page, "Hello there")
    expect(page.locator(".message--assistant.message--complete")).to_have_count(1)
    # One polite region for the whole answer list: no fragment or message announces itself.
    assert live_regions.count() == 1
