"""In a real browser, an answer's Markdown shows as a table and highlighted code that copies."""

from playwright.sync_api import expect

from chat.offline import MARKDOWN_DEMO_PHRASE
from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat


def test_a_markdown_answer_shows_a_table_and_highlighted_code_that_copies(page, live_server_url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page, live_server_url)
    start_new_chat(page)

    send(page, f"Show me the {MARKDOWN_DEMO_PHRASE}, with *stars*")

    question = page.locator(".message--user").last
    expect(question).to_contain_text("with *stars*")
    answer = page.locator(".message--assistant.message--complete").last
    expect(answer.locator("table td").first).to_have_text("Green tea")
    expect(answer.locator("pre code.language-python .k").first).to_have_text("def")
    keyword_color = answer.locator("pre .k").first.evaluate("e => getComputedStyle(e).color")
    assert keyword_color == "rgb(0, 128, 0)"  # static/css/pygments.css is served and applies

    answer.get_by_role("button", name="Copy code").click()

    expect(answer.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
    link = answer.get_by_role("link", name="links")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer")
