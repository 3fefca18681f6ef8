"""A person signs up, chats with the offline model, and the next chat remembers them."""

import itertools

from playwright.sync_api import Page, expect

_people = itertools.count(1)


def sign_up(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("input[name=username]", f"person{next(_people)}")
    page.fill("input[name=password1]", "a long enough passphrase 42")
    page.fill("input[name=password2]", "a long enough passphrase 42")
    page.click("form button[type=submit]")
    expect(page.get_by_role("button", name="New chat", exact=True)).to_be_visible()


def start_new_chat(page: Page) -> None:
    page.get_by_role("button", name="New chat", exact=True).click()
    expect(page.locator("#composer textarea")).to_be_visible()
    # Messages typed before the websocket opens would be lost; wait for it.
    expect(page.locator(".composer[data-socket=open]")).to_be_attached()


def send(page: Page, text: str) -> None:
    box = page.locator("#composer textarea")
    box.fill(text)
    box.press("Enter")


def test_a_person_chats_and_a_new_chat_remembers_their_preference(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)
    expect(page.get_by_text("Offline demo model")).to_be_visible()

    send(page, "I prefer green tea for breakfast.")

    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("(Offline demo model.) You said")
    expect(page.locator("#composer textarea")).to_have_value("")
    # Pushed by the server's own task worker when extraction ends: no worker process runs here.
    expect(answer.get_by_role("region", name="Memory updated")).to_contain_text("green tea")

    start_new_chat(page)
    send(page, "What should I drink for breakfast?")

    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("Prefers green tea for breakfast")


def test_shift_enter_makes_a_new_line_and_model_output_is_never_markup(page, live_server_url):
    sign_up(page, live_server_url)
    start_new_chat(page)
    box = page.locator("#composer textarea")

    box.type("first line")
    box.press("Shift+Enter")
    box.type("<img src=x onerror=alert(1)>")
    expect(box).to_have_value("first line\n<img src=x onerror=alert(1)>")
    box.press("Enter")

    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator(".messages img").count() == 0


def test_chat_and_memory_pages_work_under_the_content_security_policy(page, live_server_url):
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_up(page, live_server_url)
    start_new_chat(page)

    send(page, "I prefer green tea for breakfast.")
    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("(Offline demo model.) You said")

    page.get_by_role("link", name="Memories").click()
    page.get_by_label("Search by meaning").fill("tea")
    expect(page.locator("#memory-list")).to_contain_text("green tea")

    assert refused == []
