"""Faults in the scale-out setup: a web process, a worker and Redis fail while answers stream.

deploy/scale-out starts nginx, two Daphne processes and two workers on a PostgreSQL database and
a Redis server of this test's own, on free ports, so a developer's running setup is never
touched. Browser-like clients sign up and chat through nginx. The upstream model streams slowly,
so when one Daphne process and one worker (in the middle of an extraction call) are killed,
answers are mid-stream. The clients reconnect, as the page does, and chat on; then Redis restarts
while the surviving process streams more answers. Then every message sent must be in the
database, every answer complete or marked interrupted and none left streaming, and every
extraction done exactly once.

It runs in CI's PostgreSQL + Redis pass (DATABASE_URL=postgres://...); elsewhere it skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from psycopg import sql
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from chat.models import Conversation, Message
from chat.services import ANSWER_INTERRUPTED
from memories.extraction import RECONCILE_PROMPT
from memories.models import ExtractionRun, Memory
from tests.processes import PrivateRedis, free_ports_in_a_row, installed_program, skip_or_fail
from tests.upstream import ChatBehaviour, Delayed, ResponsesServer, Text

ROOT = Path(__file__).resolve().parents[2]
SCALE_OUT = ROOT / "deploy" / "scale-out"
DATABASE_ALIAS = "scale_out"
PASSWORD = "correct horse battery staple"
TABS = 6
# Short, so the test is quick, and long enough that two busy CPUs do not let a live answer's
# lease lapse.
LEASE_SECONDS = 5
# The second round's answers take six seconds: every one is mid-stream when the faults strike.
SLOW_ANSWER = " ".join(f"word{number}" for number in range(60))
WORD_DELAY_SECONDS = 0.1
# The first round's extractions wait this long for the model, so a worker is mid-call when killed.
EXTRACTION_SECONDS = 3
# What each round's message tells the model about its user; every message carries a note mark.
FACTS = {
    1: "Plays the cello every evening",
    2: "Is allergic to peanuts",
    3: "Grew up in Porto",
    4: "Works night shifts as a nurse",
}
# Rounds whose answers stream slowly, so faults strike mid-stream.
SLOW_ROUNDS = (2, 4)
NOTE = re.compile(r"note-(\d+)-(\d+)")
TURN_STARTED = re.compile(r'<article id="message-(\d+)" class="message message--assistant')
FINAL = re.compile(
    r'<article id="message-(?P<id>\d+)" class="message message--assistant message--(?P<status>\w+)"'
    r' hx-swap-oob="outerHTML"'
)
WEBSOCKET_OPENED = re.compile(r'"WSCONNECT /ws/chat/(\d+)/"')


def note(tab: int, round_: int) -> str:
    return f"note-{tab}-{round_}: {FACTS[round_]}, please remember that about me."


class ExtractionModel:
    """The model's side of extractions: the fact of the newest note in each prompt.

    mem0 puts the new messages after the earlier ones and the known memories, so the last note
    mark in its prompt is the turn being learned from. Reconciliation finds nothing outdated.
    The first round's calls take EXTRACTION_SECONDS; the time each call came in is kept.
    """

    def __init__(self) -> None:
        self.called_at: dict[str, float] = {}

    def __call__(self, body: dict[str, Any]) -> ChatBehaviour:
        messages = body.get("messages", [])
        if messages and messages[0].get("content") == RECONCILE_PROMPT:
            return '{"outdated": []}'
        marks = NOTE.findall(json.dumps(messages))
        if not marks:
            return '{"memory": []}'
        tab, round_ = marks[-1]
        self.called_at[f"note-{tab}-{round_}"] = time.monotonic()
        reply = json.dumps({"memory": [{"text": FACTS[int(round_)]}]})
        return Delayed(reply, EXTRACTION_SECONDS) if round_ == "1" else reply


def extraction_calls(upstream: ResponsesServer) -> Counter[str]:
    """How many extraction calls the model received for each note mark."""
    calls: Counter[str] = Counter()
    for body in upstream.chat_bodies():
        if body["messages"][0]["content"] != RECONCILE_PROMPT:
            tab, round_ = NOTE.findall(json.dumps(body["messages"]))[-1]
            calls[f"note-{tab}-{round_}"] += 1
    return calls


@dataclass
class ScaleOut:
    url: str
    run_dir: Path
    redis: PrivateRedis
    database: str

    def kill(self, process: str) -> None:
        """SIGKILL `process` (web-1, worker-2, …): it gets no chance to clean up."""
        os.kill(int((self.run_dir / f"{process}.pid").read_text()), signal.SIGKILL)

    def alive(self, process: str) -> bool:
        try:
            os.kill(int((self.run_dir / f"{process}.pid").read_text()), 0)
        except ProcessLookupError:
            return False
        return True

    @contextlib.asynccontextmanager
    async def database_down(self) -> AsyncIterator[None]:
        """What a PostgreSQL restart does to the setup, for as long as the block lasts: every
        connection to its database ends, and new ones are refused."""
        name = sql.Identifier(self.database)
        with _admin_connection() as admin:
            admin.execute(sql.SQL("alter database {} with allow_connections false").format(name))
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                [self.database],
            )
            try:
                yield
            finally:
                admin.execute(sql.SQL("alter database {} with allow_connections true").format(name))

    def conversations_connected_to(self, process: str) -> set[int]:
        """The conversations whose pages opened a socket on `process`, from its access log."""
        log = (self.run_dir / f"{process}.log").read_text()
        return {int(number) for number in WEBSOCKET_OPENED.findall(log)}


@contextlib.contextmanager
def _own_database(name: str, django_db_blocker: Any) -> Iterator[str]:
    """A database `name` on the test run's PostgreSQL server, as a URL for deploy/scale-out
    (which creates it) and as the alias DATABASE_ALIAS for this test; dropped afterwards."""
    server = connections["default"].settings_dict
    connections.settings[DATABASE_ALIAS] = {**server, "NAME": name}
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
    # Dropped first too: one left by a run that was killed starts this one afresh.
    _drop_database(name)
    try:
        with django_db_blocker.unblock():
            yield url
    finally:
        del connections.settings[DATABASE_ALIAS]
        _drop_database(name)


def _drop_database(name: str) -> None:
    with _admin_connection() as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def _admin_connection() -> psycopg.Connection:
    """A connection to the test run's PostgreSQL server, outside the databases it manages."""
    server = connections["default"].settings_dict
    admin = {"host": server["HOST"], "port": server["PORT"], "user": server["USER"]}
    admin["password"] = server["PASSWORD"]
    return psycopg.connect(
        dbname="postgres", autocommit=True, **{key: value for key, value in admin.items() if value}
    )


def in_database(query: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run `query` on the setup's database, from async code, on a connection closed after it."""

    async def run(*args: Any) -> Any:
        def once() -> Any:
            try:
                return query(*args)
            finally:
                connections[DATABASE_ALIAS].close()

        return await sync_to_async(once)()

    return run


@pytest.fixture
def extraction_model() -> ExtractionModel:
    return ExtractionModel()


@pytest.fixture
def upstream(extraction_model) -> Iterator[ResponsesServer]:
    """The model: a real Responses and chat completions server on 127.0.0.1."""
    with ResponsesServer() as server:
        server.answer_chat_with(extraction_model)
        yield server


@pytest.fixture
def scale_out(tmp_path, upstream, django_db_blocker) -> Iterator[ScaleOut]:
    """deploy/scale-out started on a database, a Redis and ports of this test's own."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("scale-out faults run in the PostgreSQL + Redis pass (DATABASE_URL=postgres…)")
    installed_program("nginx", "nginx")
    redis = PrivateRedis(tmp_path)
    try:
        psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5).close()
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL at DATABASE_URL for the scale-out fault test ({error})")
    run_dir = tmp_path / "run"
    # The proxy's port, then the web processes'.
    port = free_ports_in_a_row(3)
    database = f"recall_faults_{os.getpid()}"
    with _own_database(database, django_db_blocker) as database_url:
        environment = {
            **os.environ,
            "PYTHON": sys.executable,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "WEB_PROCESSES": "2",
            "WORKERS": "2",
            "PORT": str(port),
            "FIRST_WEB_PORT": str(port + 1),
            "RUN_DIR": str(run_dir),
            "STATIC_ROOT": str(tmp_path / "static"),
            "DATA_DIR": str(tmp_path / "data"),
            "MEM0_DIR": str(tmp_path / "mem0"),
            # Exported once on this machine: the other tests' copy.
            "MEMORY_EMBEDDING_MODEL_DIR": str(settings.MEMORY_EMBEDDING_MODEL_DIR),
            "SECRET_KEY": "scale-out-fault-tests-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "OPENAI_BASE_URL": upstream.base_url,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_MODEL": "test-model",
            "CHAT_ANSWER_LEASE_SECONDS": str(LEASE_SECONDS),
            "MEMORY_EXTRACTION_LEASE_SECONDS": str(LEASE_SECONDS),
            "TASKS_BACKEND": "",
            "VOICE_ENABLED": "false",
        }
        redis.start()
        try:
            started = subprocess.run(
                [str(SCALE_OUT), "start"], env=environment, capture_output=True, text=True
            )
            if started.returncode:
                logs = "\n".join(
                    f"== {log.name}\n{log.read_text()[-3000:]}" for log in run_dir.glob("*.log")
                )
                pytest.fail(f"deploy/scale-out start failed: {started.stderr}\n{logs}")
            yield ScaleOut(f"http://127.0.0.1:{port}", run_dir, redis, database)
        finally:
            subprocess.run([str(SCALE_OUT), "stop"], env=environment, capture_output=True)
            redis.kill()


@dataclass
class Tab:
    """A browser tab on one conversation: signed up over HTTP, its socket reconnecting as the
    page's does (htmx's websocket extension) whenever the connection is lost."""

    base_url: str
    cookies: str
    conversation_id: int
    frames: list[str] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    socket: Any = None
    reader: asyncio.Task | None = None

    @classmethod
    async def sign_up(cls, base_url: str, username: str) -> Tab:
        async with httpx.AsyncClient(base_url=base_url, follow_redirects=True) as http:
            await http.get("/accounts/signup/")
            form = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
            signed_up = await http.post(
                "/accounts/signup/",
                data={**form, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                headers={"Origin": base_url},
            )
            assert signed_up.url.path == "/", signed_up.text
            page = await http.post(
                "/c/new/",
                data={"csrfmiddlewaretoken": http.cookies["csrftoken"]},
                headers={"Origin": base_url},
            )
            conversation_id = int(re.fullmatch(r"/c/(\d+)/", page.url.path)[1])
            assert f'ws-connect="/ws/chat/{conversation_id}/"' in page.text
            cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies.jar)
        return cls(base_url, cookies, conversation_id)

    async def open_socket(self) -> None:
        self.reader = asyncio.create_task(self._read_forever())
        await asyncio.wait_for(self.opened.wait(), 30)

    async def _read_forever(self) -> None:
        url = f"ws{self.base_url.removeprefix('http')}/ws/chat/{self.conversation_id}/"
        while True:
            with contextlib.suppress(OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                async with connect(
                    url,
                    origin=self.base_url,
                    additional_headers={"Cookie": self.cookies},
                    open_timeout=10,
                ) as socket:
                    self.socket = socket
                    self.opened.set()
                    async for frame in socket:
                        self.frames.append(frame)
            self.opened.clear()
            await asyncio.sleep(0.5)

    async def say(self, text: str) -> int:
        """Send `text`; returns the id of the answer, once the turn shows on the page."""
        await asyncio.wait_for(self.opened.wait(), 30)
        seen = len(self.frames)
        await self.socket.send(json.dumps({"message": text}))
        started = await _eventually(
            lambda: next((f for f in self.frames[seen:] if text in f), None),
            f"the turn {text!r} on its page",
        )
        return int(TURN_STARTED.search(started)[1])

    def streamed(self, answer_id: int) -> bool:
        opening = f'<span hx-swap-oob="beforeend:#message-{answer_id}-text">'
        return any(frame.startswith(opening) for frame in self.frames)

    def ended(self, answer_id: int) -> str | None:
        """How the page last showed the answer ended (complete, incomplete…), or None."""
        for frame in reversed(self.frames):
            final = FINAL.match(frame)
            if final and int(final["id"]) == answer_id and final["status"] != "streaming":
                return final["status"]
        return None

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def _eventually(
    condition: Callable[[], Any], what: str | Callable[[], str], seconds: float = 30
) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            said = what if isinstance(what, str) else what()
            raise AssertionError(f"not within {seconds} s: {said}")
        await asyncio.sleep(0.1)
    return value


async def _eventually_in_database(query: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := await in_database(query)()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.2)
    return value


def _extraction_in_a_call(model: ExtractionModel) -> tuple[int, int] | None:
    """(worker number, run id) of an extraction whose worker waits for the model now, with at
    least half its call still to go."""
    for task in DBTaskResult.objects.using(DATABASE_ALIAS).filter(
        status=TaskResultStatus.RUNNING, task_path__endswith="extract_memories"
    ):
        run = ExtractionRun.objects.using(DATABASE_ALIAS).get(pk=task.args_kwargs["args"][0])
        called_at = model.called_at.get(_note_of(run.message))
        if called_at is not None and time.monotonic() - called_at < EXTRACTION_SECONDS / 2:
            worker = re.fullmatch(r"worker-(\d+)@.*", task.worker_ids[-1])
            return int(worker[1]), run.pk
    return None


def _note_of(answer: Message) -> str:
    """The note mark of the message `answer` answers."""
    asked = (
        Message.objects.using(DATABASE_ALIAS)
        .filter(conversation=answer.conversation_id, pk__lt=answer.pk, role=Message.Role.USER)
        .latest("pk")
    )
    return NOTE.search(asked.content)[0]


def _answers_streaming() -> int:
    return Message.objects.using(DATABASE_ALIAS).filter(status=Message.Status.STREAMING).count()


def _extractions_unfinished() -> int:
    return (
        ExtractionRun.objects.using(DATABASE_ALIAS)
        .exclude(status=ExtractionRun.Status.DONE)
        .count()
    )


async def test_a_killed_web_process_worker_and_restarted_redis_lose_nothing(
    scale_out, upstream, extraction_model
):
    tabs = [await Tab.sign_up(scale_out.url, f"tab{number}") for number in range(TABS)]
    try:
        # Opened one after another, the sockets alternate between the two web processes.
        for tab in tabs:
            await tab.open_socket()
        await _chat_through_faults(scale_out, upstream, extraction_model, tabs)
    except AssertionError:
        # What the processes said, for whoever reads the failure.
        for log in sorted(scale_out.run_dir.glob("*.log")):
            print(f"== {log.name}\n{log.read_text()[-4000:]}")
        raise
    finally:
        for tab in tabs:
            await tab.close()


async def _chat_through_faults(
    scale_out: ScaleOut,
    upstream: ResponsesServer,
    extraction_model: ExtractionModel,
    tabs: list[Tab],
) -> None:
    sent: dict[int, list[str]] = {tab.conversation_id: [] for tab in tabs}
    answers: dict[int, dict[int, int]] = {round_: {} for round_ in FACTS}

    async def chat(round_: int) -> None:
        async def one(number: int, tab: Tab) -> None:
            sent[tab.conversation_id].append(note(number, round_))
            answers[round_][tab.conversation_id] = await tab.say(note(number, round_))

        await asyncio.gather(*(one(number, tab) for number, tab in enumerate(tabs)))

    def endings(round_: int) -> dict[int, str | None]:
        """How each page shows the round's answer ended, by conversation (None: it does not)."""
        return {
            tab.conversation_id: tab.ended(answers[round_][tab.conversation_id]) for tab in tabs
        }

    def ended_as(round_: int, wanted: str | None) -> dict[int, bool]:
        return {
            conversation: ending is not None and wanted in (None, ending)
            for conversation, ending in endings(round_).items()
        }

    def last_frames(round_: int, wanted: str | None) -> str:
        done = ended_as(round_, wanted)
        return "\n".join(
            f"{tab.conversation_id}: {[frame[:90] for frame in tab.frames[-3:]]}"
            for tab in tabs
            if not done[tab.conversation_id]
        )

    async def all_end(round_: int, wanted: str | None = None) -> None:
        """Wait until every page shows the round's answer ended (as `wanted`, if given).

        Rounds without faults wait for "complete", so an answer that ended any other way
        fails the test here, with its page's last frames, before a fault is struck.
        """
        await _eventually(
            lambda: all(ended_as(round_, wanted).values()),
            lambda: (
                f"every answer of round {round_} to end ({wanted or 'any way'}) on its page: "
                f"{endings(round_)}; the last frames of the others:\n"
                f"{last_frames(round_, wanted)}"
            ),
        )

    # Round 1: quick answers; their extractions keep both workers in model calls for a while.
    await chat(1)
    await all_end(1, "complete")

    async def chat_slowly(round_: int) -> None:
        upstream.script(*[Text(SLOW_ANSWER, delay=WORD_DELAY_SECONDS) for _ in tabs])
        await chat(round_)
        await _eventually(
            lambda: all(tab.streamed(answers[round_][tab.conversation_id]) for tab in tabs),
            f"every answer of round {round_} to be streaming",
        )

    # Round 2: slow answers. Mid-stream, one web process and one worker mid-extraction die.
    await chat_slowly(2)
    on_killed_process = scale_out.conversations_connected_to("web-1")
    assert 0 < len(on_killed_process) < len(tabs), "nginx spreads the sockets over both"
    scale_out.kill("web-1")
    worker, killed_run = await _eventually_in_database(
        lambda: _extraction_in_a_call(extraction_model), "a worker in an extraction call"
    )
    scale_out.kill(f"worker-{worker}")

    # The survivor marks the dead process's answers interrupted once their lease lapses.
    await _eventually_in_database(
        lambda: _answers_streaming() == 0, "no answer left streaming", seconds=3 * LEASE_SECONDS
    )
    await all_end(2)

    # Round 3: every page reconnected, to the surviving process, and chats on.
    await chat(3)
    await all_end(3, "complete")

    # Round 4: slow answers again, on the survivor; mid-stream Redis restarts. The answers go on
    # and are saved whole. Whether their pages see them end is not asserted: Redis's pub/sub
    # layer accepts a frame published while the page's process is still subscribing again (up to
    # about a second after Redis is back) and it reaches no page, and an end published then is
    # not sent again (bench/RESULTS.md, section 9; tests/chat/test_redis_restart.py covers a
    # page kept open through a restart).
    await chat_slowly(4)
    scale_out.redis.restart()
    await _eventually_in_database(
        lambda: _answers_streaming() == 0, "no answer left streaming after the Redis restart"
    )
    await _eventually_in_database(
        lambda: _extractions_unfinished() == 0, "every extraction to finish", seconds=60
    )

    await in_database(_check_database)(upstream, sent, answers, on_killed_process, killed_run)
    for tab in tabs:
        for round_ in (1, 2, 3):
            answer = answers[round_][tab.conversation_id]
            killed = round_ == 2 and tab.conversation_id in on_killed_process
            assert tab.ended(answer) == ("incomplete" if killed else "complete")


async def test_a_database_outage_loses_no_message_and_every_process_works_after_it(
    scale_out, upstream
):
    tab = await Tab.sign_up(scale_out.url, "outage")
    try:
        await tab.open_socket()
        before = await tab.say(note(0, 3))
        await _eventually(lambda: tab.ended(before) == "complete", "the answer before the outage")
        await _eventually_in_database(
            lambda: _extractions_unfinished() == 0, "the extraction before the outage"
        )

        async with scale_out.database_down():
            seen = len(tab.frames)
            await tab.socket.send(json.dumps({"message": "Sent while the database is down"}))
            refused = await _eventually(
                lambda: next((f for f in tab.frames[seen:] if "cannot reach its database" in f), 0),
                "the page told that its message was not saved",
            )
            # Back in the composer, to be sent again.
            assert ">Sent while the database is down</textarea>" in refused
            # Workers poll every second: each meets the outage more than once.
            await asyncio.sleep(3)

        after = await tab.say(note(0, 4))
        await _eventually(lambda: tab.ended(after) == "complete", "the answer after the outage")
        await _eventually_in_database(
            lambda: _extractions_unfinished() == 0, "the extraction after the outage"
        )
        assert [
            process for process in ("worker-1", "worker-2") if not scale_out.alive(process)
        ] == []
        said = await in_database(
            lambda: list(
                Message.objects.using(DATABASE_ALIAS)
                .filter(conversation=tab.conversation_id)
                .values_list("role", "status")
            )
        )()
        assert said == [("user", "complete"), ("assistant", "complete")] * 2
        owner = await in_database(
            lambda: Conversation.objects.using(DATABASE_ALIAS).get(pk=tab.conversation_id).owner_id
        )()
        learned = await in_database(
            lambda: sorted(
                Memory.objects.using(DATABASE_ALIAS)
                .filter(owner=owner)
                .values_list("text", flat=True)
            )
        )()
        assert learned == sorted([FACTS[3], FACTS[4]])
    except AssertionError:
        for log in sorted(scale_out.run_dir.glob("*.log")):
            print(f"== {log.name}\n{log.read_text()[-4000:]}")
        raise
    finally:
        await tab.close()


def _check_database(
    upstream: ResponsesServer,
    sent: dict[int, list[str]],
    answers: dict[int, dict[int, int]],
    on_killed_process: set[int],
    killed_run: int,
) -> None:
    messages = Message.objects.using(DATABASE_ALIAS)
    for conversation_id, texts in sent.items():
        said = messages.filter(conversation=conversation_id, role=Message.Role.USER)
        assert [(m.content, m.status) for m in said] == [(t, "complete") for t in texts]

    learned_from: set[str] = set()
    for round_, by_conversation in answers.items():
        for conversation_id, answer_id in by_conversation.items():
            answer = messages.get(pk=answer_id)
            if round_ == 2 and conversation_id in on_killed_process:
                assert (answer.status, answer.error) == ("incomplete", ANSWER_INTERRUPTED)
                assert SLOW_ANSWER.startswith(answer.content)
                continue
            assert answer.status == "complete", (round_, conversation_id, answer.error)
            user_text = sent[conversation_id][round_ - 1]
            expected = SLOW_ANSWER if round_ in SLOW_ROUNDS else f"You said: {user_text}"
            assert answer.content == expected
            learned_from.add(NOTE.search(user_text)[0])

    # One extraction per complete answer, each done; only the killed worker's was tried twice,
    # and asked the model twice. Each fact was learned once.
    runs = ExtractionRun.objects.using(DATABASE_ALIAS)
    assert sorted(run.message_id for run in runs) == sorted(
        answer_id
        for round_, by_conversation in answers.items()
        for conversation_id, answer_id in by_conversation.items()
        if not (round_ == 2 and conversation_id in on_killed_process)
    )
    assert {(run.pk, run.status, run.attempts) for run in runs} == {
        (run.pk, "done", 2 if run.pk == killed_run else 1) for run in runs
    }
    killed_note = _note_of(runs.get(pk=killed_run).message)
    assert extraction_calls(upstream) == Counter(
        {mark: 2 if mark == killed_note else 1 for mark in learned_from}
    )
    for conversation_id in sent:
        owner = Conversation.objects.using(DATABASE_ALIAS).get(pk=conversation_id).owner_id
        remembered = Memory.objects.using(DATABASE_ALIAS).filter(owner=owner)
        expected = sorted(
            FACTS[round_]
            for round_ in FACTS
            if NOTE.search(sent[conversation_id][round_ - 1])[0] in learned_from
        )
        assert sorted(remembered.values_list("text", flat=True)) == expected
