"""A person in a real browser uses the scale-out setup, through nginx, as deployed.

The page, its static files and its websocket come through the proxy; the answer streams from
one of two web processes, and a worker's "Memory updated" notice reaches the page through Redis.
In its own module: the browser's event loop must not run beside the fault tests' async ones.
"""

from playwright.sync_api import expect

from tests.e2e.conftest import browser, browser_args  # noqa: F401 (fixtures)
from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat
from tests.scaleout.test_faults import (  # noqa: F401 (fixtures)
    FACTS,
    extraction_model,
    note,
    scale_out,
    upstream,
)


def test_a_person_chats_through_the_proxy_and_sees_what_a_worker_learned(browser, scale_out):  # noqa: F811
    page = browser.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_up(page, scale_out.url)
        start_new_chat(page)
        # htmx and the page's scripts came through nginx: the socket opened from them.
        expect(page.locator(".composer[data-socket=open]")).to_be_attached()

        send(page, note(0, 3))

        answer = page.locator(".message--assistant.message--complete").last
        expect(answer).to_contain_text("You said: note-0-3")
        expect(answer.get_by_role("region", name="Memory updated")).to_contain_text(FACTS[3])
        page.goto(f"{scale_out.url}/memories/")
        expect(page.get_by_role("link", name=FACTS[3])).to_be_visible()
    finally:
        page.close()
