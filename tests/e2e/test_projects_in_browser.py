"""A person creates a project, chats in it, sees the chat grouped under it, and moves it out."""

from playwright.sync_api import Page, expect

from tests.e2e.test_chat_in_browser import send, sign_up


def wait_for_socket(page: Page) -> None:
    # Messages typed before the websocket opens would be lost; wait for it.
    expect(page.locator(".composer[data-socket=open]")).to_be_attached()


def test_a_chat_started_in_a_project_is_grouped_under_it(page, live_server_url):
    sign_up(page, live_server_url)

    page.get_by_role("link", name="New project").first.click()
    page.get_by_label("Name").fill("Kitchen renovation")
    page.get_by_label("Instructions").fill("Budget: 20k EUR.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen renovation")

    page.get_by_role("button", name="New chat in this project").click()
    wait_for_socket(page)
    send(page, "Which tiles suit a kitchen?")
    expect(page.locator(".message--assistant.message--complete").last).to_contain_text("You said")

    group = page.get_by_role("region", name="Kitchen renovation")
    expect(group.get_by_role("link", name="Which tiles suit a kitchen?")).to_be_visible()
    page.reload()
    group = page.get_by_role("region", name="Kitchen renovation")
    expect(group.get_by_role("link", name="Which tiles suit a kitchen?")).to_be_visible()
    expect(page.locator("#conversation-list")).not_to_contain_text("Which tiles")

    page.get_by_label("Project", exact=True).select_option(label="No project")
    page.get_by_role("button", name="Move").click()

    expect(page.locator("#conversation-list")).to_contain_text("Which tiles suit a kitchen?")
    expect(group).not_to_contain_text("Which tiles")
    expect(group).to_contain_text("No chats yet")


def new_project(page: Page, name: str) -> None:
    page.get_by_role("link", name="New project").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_a_decision_told_in_a_project_chat_is_used_in_its_next_chat(page, live_server_url):
    sign_up(page, live_server_url)
    new_project(page, "Beta launch")

    page.get_by_role("button", name="New chat in this project").click()
    wait_for_socket(page)
    send(page, "We decided to ship the beta on May 2.")
    told = page.locator(".message--assistant.message--complete").last
    expect(told).to_contain_text("You said")
    # Learned after the answer, by a task: the project's page shows it once the chat says so.
    expect(told.get_by_role("region", name="Memory updated")).to_contain_text("May 2")

    page.get_by_role("link", name="Beta launch").first.click()
    expect(page.locator("#project-memories")).to_contain_text("Decided to ship the beta on May 2")
    page.get_by_role("button", name="New chat in this project").click()
    wait_for_socket(page)
    send(page, "Where does the work stand?")
    answer = page.locator(".message--assistant.message--complete").last
    expect(answer).to_contain_text("Decided to ship the beta on May 2")

    used = answer.locator(".answer-memory__used")
    used.locator("summary").click()
    expect(used).to_contain_text("Decided to ship the beta on May 2")

    new_project(page, "Garden")
    page.get_by_role("button", name="New chat in this project").click()
    wait_for_socket(page)
    send(page, "When do we ship the beta?")
    other = page.locator(".message--assistant.message--complete").last
    expect(other).to_contain_text("You said")
    expect(other).not_to_contain_text("May 2.")
    expect(other.locator(".answer-memory")).not_to_contain_text("May 2")
