"""Stop, regenerate, edit, reload mid-answer and a server killed mid-answer, in a real browser
against real server processes that stream from the test Responses server."""

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.test_chat_in_browser import send, sign_up, start_new_chat
from tests.processes import free_port, stop, wait_for_port
from tests.upstream import ResponsesServer, Text

ROOT = Path(__file__).resolve().parents[2]
STORY = " ".join(f"word{n}" for n in range(60))


def start_server(env: dict[str, str], data_dir: Path, name: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (data_dir / f"{name}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, server)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server_env(tmp_path_factory, upstream_server: ResponsesServer) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("turns-data")
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "e2e-tests-only",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REDIS_URL": "",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": upstream_server.base_url,
        # No extraction: it would take the scripted answers meant for the chat.
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "CHAT_ANSWER_LEASE_SECONDS": "2",
    }
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
        env=env,
        check=True,
        capture_output=True,
    )
    return env


@pytest.fixture(scope="module")
def server_url(server_env) -> Iterator[str]:
    server, url = start_server(server_env, Path(server_env["DATA_DIR"]), "server")
    try:
        yield url
    finally:
        stop(server)


@pytest.fixture
def upstream_script(upstream_server: ResponsesServer) -> ResponsesServer:
    upstream_server.reset()
    return upstream_server


def streaming_text(page: Page):
    return page.locator(".message--assistant.message--streaming .message__text")


def test_stop_mid_stream_keeps_the_partial_answer_marked_stopped(page, server_url, upstream_script):
    upstream_script.script(Text(STORY, delay=0.2), Text("Right away."))
    sign_up(page, server_url)
    start_new_chat(page)
    send(page, "Tell me a long story")
    expect(streaming_text(page)).to_contain_text("word2")

    page.keyboard.press("Escape")

    stopped = page.locator(".message--assistant.message--stopped")
    expect(stopped).to_contain_text("Stopped.")
    expect(stopped).to_contain_text("word2")
    expect(stopped).not_to_contain_text("word59")
    send(page, "Something short")
    expect(page.locator(".message--assistant.message--complete").last).to_contain_text(
        "Right away."
    )


def test_regenerate_keeps_both_versions_reachable(page, server_url, upstream_script):
    upstream_script.script(Text("Blue."), Text("Green."))
    sign_up(page, server_url)
    start_new_chat(page)
    send(page, "Name a colour")
    expect(page.locator(".message--assistant.message--complete")).to_contain_text("Blue.")

    page.get_by_role("button", name="Regenerate").click()

    answer = page.locator(".message--assistant.message--complete")
    expect(answer).to_contain_text("Green.")
    expect(page.locator(".message--assistant")).to_have_count(1)
    answer.get_by_text("Version 2 of 2").click()
    expect(answer.locator(".message__version")).to_contain_text("Blue.")


def test_edit_and_resend_the_last_message(page, server_url, upstream_script):
    upstream_script.script(Text("Lisbon it is."), Text("Porto it is."))
    sign_up(page, server_url)
    start_new_chat(page)
    send(page, "I live in Lisbon")
    expect(page.locator(".message--assistant.message--complete")).to_contain_text("Lisbon it is.")

    page.get_by_role("button", name="Edit last message").click()
    box = page.locator("#composer textarea")
    expect(box).to_have_value("I live in Lisbon")
    box.fill("I live in Porto")
    box.press("Enter")

    expect(page.locator(".message--assistant.message--complete")).to_contain_text("Porto it is.")
    question = page.locator(".message--user")
    expect(question).to_have_count(1)
    expect(question.locator("> .message__bubble")).to_contain_text("I live in Porto")
    question.get_by_text("Version 2 of 2").click()
    expect(question.locator(".message__version")).to_contain_text("I live in Lisbon")


def test_a_reload_mid_answer_shows_the_text_so_far_and_the_rest(page, server_url, upstream_script):
    upstream_script.script(Text(STORY, delay=0.1))
    sign_up(page, server_url)
    start_new_chat(page)
    send(page, "Tell me a long story")
    expect(streaming_text(page)).to_contain_text("word3")

    page.reload()

    # The page renders before the answer's text is saved: the socket brings the text so far.
    expect(streaming_text(page)).to_contain_text("word3", timeout=5_000)
    answer = page.locator(".message--assistant.message--complete")
    expect(answer).to_contain_text(STORY)


def end_an_answer_unheard(page: Page, server_url: str, upstream: ResponsesServer) -> WebSocketRoute:
    """Start an answer, then let its page hear nothing more (its socket stays open) until
    another tab of the conversation has seen it end; returns the page's relayed socket."""
    upstream.script(Text(STORY, delay=0.1))
    down = False
    relayed = []

    def relay(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        server.on_message(lambda frame: None if down else socket.send(frame))
        socket.on_message(server.send)
        relayed.append(socket)

    page.route_web_socket(re.compile(r"/ws/chat/"), relay)
    sign_up(page, server_url)
    start_new_chat(page)
    send(page, "Tell me a long story")
    expect(streaming_text(page)).to_contain_text("word2")

    down = True
    other_tab = page.context.new_page()
    other_tab.goto(page.url)
    expect(other_tab.locator(".message--assistant.message--complete")).to_contain_text("word59")
    expect(streaming_text(page)).not_to_contain_text("word59")
    down = False
    return relayed[-1]


def test_a_page_whose_socket_was_down_when_its_answer_ended_shows_how_it_ended(
    page, server_url, upstream_script
):
    socket = end_an_answer_unheard(page, server_url, upstream_script)

    socket.close(code=1012, reason="The network came back")

    expect(page.locator(".message--assistant.message--complete")).to_contain_text(STORY)
    expect(page.locator(".message--streaming")).to_have_count(0)


def test_a_page_that_hears_nothing_for_a_while_asks_how_its_answer_ended(
    page, server_url, upstream_script
):
    # Frames lost with the socket still open, as while Redis restarts between the processes.
    end_an_answer_unheard(page, server_url, upstream_script)

    # Nothing closed: after 10 s of silence the page asks (again, if its first ask was lost).
    answer = page.locator(".message--assistant.message--complete")
    expect(answer).to_contain_text(STORY, timeout=30_000)
    expect(page.locator(".message--streaming")).to_have_count(0)


def test_a_server_killed_mid_answer_leaves_it_interrupted_for_the_next_server(
    page, server_url, server_env, upstream_script
):
    upstream_script.script(Text(STORY, delay=0.3))
    doomed, doomed_url = start_server(server_env, Path(server_env["DATA_DIR"]), "doomed")
    try:
        sign_up(page, doomed_url)
        start_new_chat(page)
        send(page, "Tell me a long story")
        expect(streaming_text(page)).to_contain_text("word2")
        path = page.url.removeprefix(doomed_url)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

    page.goto(server_url + path)

    # Within a few seconds of the lease (2 s here) lapsing, the other server marks it.
    interrupted = page.locator(".message--assistant.message--incomplete")
    expect(interrupted).to_contain_text("The answer was interrupted.", timeout=10_000)
    expect(page.locator(".message--streaming")).to_have_count(0)


def test_through_redis_another_server_shows_the_answer_and_stops_it(
    page, server_env, upstream_script
):
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/8"
    env = {**server_env, "REDIS_URL": redis_url, "CHAT_ANSWER_LEASE_SECONDS": "10"}
    upstream_script.script(Text(STORY, delay=0.2))
    data_dir = Path(server_env["DATA_DIR"])
    first, first_url = start_server(env, data_dir, "redis-first")
    second, second_url = start_server(env, data_dir, "redis-second")
    try:
        sign_up(page, first_url)
        start_new_chat(page)
        send(page, "Tell me a long story")
        expect(streaming_text(page)).to_contain_text("word2")

        page.goto(second_url + page.url.removeprefix(first_url))
        expect(streaming_text(page)).to_contain_text("word2", timeout=5_000)
        expect(streaming_text(page)).to_contain_text("word6")
        page.keyboard.press("Escape")

        stopped = page.locator(".message--assistant.message--stopped")
        expect(stopped).to_contain_text("word6")
        expect(stopped).not_to_contain_text("word59")
    finally:
        for server in (first, second):
            server.terminate()
            server.wait(timeout=10)
