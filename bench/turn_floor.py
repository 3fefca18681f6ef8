"""The CPU a chat turn cannot do without, on this machine, and the ceilings it sets on issue 12.

    .venv/bin/python bench/turn_floor.py   # ~3 min; PostgreSQL on :5432, Redis on :6379 (db 13)

The parts of every turn with memory on that no code of ours can leave out, each measured alone:

- **the openai SDK** (the design card's client) asking for and reading one answer: the same
  upstream and answer as throughput.py (tests/upstream.py in a process of its own, 40 words, one
  every 20 ms), the request a real turn sends (chat.turns' instructions, the memory and general
  tools, a user message). Client CPU per answer with 10 answers streaming at once, and, one
  answer at a time, up to its first delta. Three ways: `responses.create` (a typed model of
  every event) on the SDK's default transport (httpx) and asyncio's loop; chat.agent.stream_reply
  (the SDK's `post` with untyped events) on its aiohttp transport and asyncio's loop; the same on
  uvloop, as the web processes run it;
- **the upstream's own CPU** per answer: it shares the machine in throughput.py;
- **embedding the turn's message** (memories.embeddings.embed_text), as recall does;
- **the ORM at its least**: the user's message and the answer's placeholder saved in one
  transaction, then the finished answer (3 statements; a real turn makes about 17), client
  and PostgreSQL server CPU;
- **the channel layer at its least**: a frame published to a group through the Redis pub/sub
  layer and received by its one member, client and Redis server CPU; an answer sends at least
  FRAMES_PER_ANSWER (its start, its end, and its 40 words in frames 250 ms apart, the
  slowest pace chat.runner keeps under load).

No recall, history, rate limit, session check, template, websocket or proxy of ours is in these
numbers: what they add up to is a floor, and the ceilings computed from it are upper bounds of
what any code of ours could reach here:

- one web process: all of it but the embedding (which leaves the GIL) runs under one GIL, so
  that process serves at most 1000 / (SDK + ORM + frames ms) turns a second, with nothing
  else to do and no headroom for latency;
- the machine: its cores shared by everything above, at most cores x 1000 / (all of it, ms)
  turns a second, whatever the process count;
- a burst of 200 at the same instant: the 190th first token (p95) comes after at least
  190 x (the CPU of a turn up to its first delta: the SDK's, the embedding, the saves) / cores.
"""

import asyncio
import multiprocessing
import os
import time
from collections.abc import AsyncIterator

import harness
from streaming_load import ProcessSampler, serve_upstream

CONCURRENT = 10
ANSWERS = 100
ONE_AT_A_TIME = 30
EMBEDDED_MESSAGES = 200
BURST = 200
RATE_TARGET = 50
TWO_PROCESS_TARGET = 1.8 * RATE_TARGET
BURST_TARGET_MS = 500
MESSAGE = "Can you remind me what we decided about the database migration turn 7: and its deadline?"
SAVED_TURNS = 300
FRAMES = 3000
FRAMES_PER_ANSWER = 6
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
FRAME = '<span hx-swap-oob="beforeend:#message-12345-text">word1 word2 word3 word4 </span>'


def turn_request() -> dict:
    """What chat.turns sends the model for a first message in a conversation with memory on."""
    from accounts.models import User
    from chat import tools, turns
    from chat.models import Conversation

    owner = User.objects.create_user(username="floor", password="floor-bench-password")
    conversation = Conversation.objects.create(owner=owner)
    return {
        "instructions": turns.INSTRUCTIONS,
        "input_items": [{"role": "user", "content": MESSAGE}],
        "tools": [*tools.memory_tools(conversation, source=None), *tools.general_tools()],
    }


async def typed_events(base_url: str, request: dict) -> AsyncIterator[bool | None]:
    """The SDK as its README shows it: `responses.create`, a typed model of every event, on its
    default transport (httpx). Yields whether each event is a text delta, and None after each
    answer."""
    import openai

    sdk = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    try:
        while True:
            stream = await sdk.responses.create(
                model="bench",
                instructions=request["instructions"],
                input=request["input_items"],
                tools=[tool.as_responses_tool() for tool in request["tools"]],
                stream=True,
                store=False,
            )
            async for event in stream:
                yield event.type == "response.output_text.delta"
            yield None
    finally:
        await sdk.close()


async def shipped_events(base_url: str, request: dict) -> AsyncIterator[bool | None]:
    """chat.agent.stream_reply, as a turn calls it, on the SDK's aiohttp transport."""
    import openai

    from chat import agent

    sdk = openai.AsyncOpenAI(
        api_key="bench", base_url=base_url, max_retries=0, http_client=openai.DefaultAioHttpClient()
    )
    try:
        while True:
            async for event in agent.stream_reply(**request, client=sdk):
                yield isinstance(event, agent.TextDelta)
            yield None
    finally:
        await sdk.close()


async def read_answers(events, base_url: str, request: dict, upstream_pid: int) -> dict:
    """Client CPU per answer, `CONCURRENT` at a time, and up to the first delta, one at a time.

    `events(base_url, request)` yields, for each event, whether it is a text delta, and None
    after each answer.
    """

    async def answers(count: int, first_delta_cpu: list[float] | None = None) -> None:
        stream = events(base_url, request)
        try:
            for _ in range(count):
                started = time.process_time()
                seen_delta = False
                while (is_delta := await anext(stream)) is not None:
                    if is_delta and not seen_delta and first_delta_cpu is not None:
                        first_delta_cpu.append(time.process_time() - started)
                    seen_delta = seen_delta or is_delta
        finally:
            await stream.aclose()

    await asyncio.gather(*[answers(1) for _ in range(CONCURRENT)])
    with ProcessSampler(os.getpid()) as own, ProcessSampler(upstream_pid) as upstream:
        await asyncio.gather(*[answers(ANSWERS // CONCURRENT) for _ in range(CONCURRENT)])
    first_delta_cpu: list[float] = []
    await answers(ONE_AT_A_TIME, first_delta_cpu)
    return {
        "sdk_cpu_ms_per_answer": round(own.used_cpu / ANSWERS * 1000, 2),
        "sdk_cpu_ms_to_first_delta": round(harness.percentile(first_delta_cpu, 50) * 1000, 2),
        "upstream_cpu_ms_per_answer": round(upstream.used_cpu / ANSWERS * 1000, 2),
    }


def embedding_cpu_ms() -> float:
    from memories import embeddings

    embeddings.embed_text("warm up")
    started = time.process_time()
    for number in range(EMBEDDED_MESSAGES):
        embeddings.embed_text(MESSAGE.replace("7", str(number)))
    return round((time.process_time() - started) / EMBEDDED_MESSAGES * 1000, 2)


def saving_cpu_ms() -> dict:
    """Client and PostgreSQL server CPU of saving a turn with the ORM at its least."""
    from django.db import connection, transaction

    from chat.models import Conversation, Message

    conversation = Conversation.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    started = time.process_time()
    with ProcessSampler(backend_pid) as server:
        for _ in range(SAVED_TURNS):
            with transaction.atomic():
                Message.objects.create(
                    conversation=conversation, role=Message.Role.USER, content=MESSAGE
                )
                answer = Message.objects.create(
                    conversation=conversation,
                    role=Message.Role.ASSISTANT,
                    status=Message.Status.STREAMING,
                )
            answer.content = FRAME * 10
            answer.status = Message.Status.COMPLETE
            answer.save(update_fields=["content", "status"])
    client = time.process_time() - started
    return {
        "orm_cpu_ms_per_turn": round(client / SAVED_TURNS * 1000, 2),
        "postgres_cpu_ms_per_turn": round(server.used_cpu / SAVED_TURNS * 1000, 2),
    }


async def frame_cpu_ms() -> dict:
    """Client and Redis server CPU of one frame through the pub/sub layer to one member."""
    import redis.asyncio
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("turn-floor", channel)
    info = await redis.asyncio.Redis.from_url(REDIS_URL).info("server")
    for _ in range(50):
        await layer.group_send("turn-floor", {"type": "chat.frame", "html": FRAME})
        await layer.receive(channel)
    started = time.process_time()
    with ProcessSampler(info["process_id"]) as server:
        for _ in range(FRAMES):
            await layer.group_send("turn-floor", {"type": "chat.frame", "html": FRAME})
            await layer.receive(channel)
    client = time.process_time() - started
    await layer.group_discard("turn-floor", channel)
    await layer.flush()
    return {
        "frame_cpu_ms": round(client / FRAMES * 1000, 3),
        "redis_cpu_ms_per_frame": round(server.used_cpu / FRAMES * 1000, 3),
    }


def ceilings(sdk: dict, common: dict, cores: int) -> dict:
    frames = FRAMES_PER_ANSWER * common["frame_cpu_ms"]
    one_process = sdk["sdk_cpu_ms_per_answer"] + common["orm_cpu_ms_per_turn"] + frames
    per_turn = (
        one_process
        + common["embedding_cpu_ms_per_message"]
        + sdk["upstream_cpu_ms_per_answer"]
        + common["postgres_cpu_ms_per_turn"]
        + FRAMES_PER_ANSWER * common["redis_cpu_ms_per_frame"]
    )
    # Only the saves before the answer (two of three statements) and none of the upstream's
    # CPU count before the first delta, so the burst floor stays a floor.
    to_first_delta = (
        sdk["sdk_cpu_ms_to_first_delta"]
        + common["embedding_cpu_ms_per_message"]
        + (common["orm_cpu_ms_per_turn"] + common["postgres_cpu_ms_per_turn"]) * 2 / 3
    )
    return {
        "one_process_floor_ms_per_turn": round(one_process, 1),
        "machine_floor_ms_per_turn": round(per_turn, 1),
        "one_process_turns_per_s_at_most": round(1000 / one_process, 1),
        "machine_turns_per_s_at_most": round(cores * 1000 / per_turn, 1),
        "burst_p95_ms_at_least": round((BURST * 0.95) * to_first_delta / cores),
    }


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.parse_args()
    # The channel layer of the scale-out setup: Redis pub/sub.
    os.environ["REDIS_URL"] = REDIS_URL
    harness.setup_django("turn_floor", postgres=True)
    import uvloop

    request = turn_request()
    parent, child = multiprocessing.Pipe()
    upstream = multiprocessing.Process(target=serve_upstream, args=(child,), daemon=True)
    upstream.start()
    base_url = parent.recv()
    cores = os.cpu_count() or 1
    clients = {}
    try:
        for name, loop_factory, events in (
            ("responses.create on asyncio + httpx", None, typed_events),
            ("stream_reply on asyncio + aiohttp", None, shipped_events),
            ("as shipped (stream_reply, uvloop + aiohttp)", uvloop.new_event_loop, shipped_events),
        ):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                clients[name] = runner.run(read_answers(events, base_url, request, upstream.pid))
    finally:
        parent.send("stop")
        upstream.join(timeout=10)
    common = {"embedding_cpu_ms_per_message": embedding_cpu_ms(), **saving_cpu_ms()}
    common.update(uvloop.run(frame_cpu_ms()))
    rows = {name: {**sdk, **ceilings(sdk, common, cores)} for name, sdk in clients.items()}
    print(", ".join(f"{name} {value}" for name, value in common.items()))
    headers = ["client", "SDK ms", "SDK ms to 1st delta", "upstream ms"]
    headers += ["1 process floor ms", "machine floor ms", "1 process turns/s at most"]
    headers += [f"{cores} cores: turns/s at most", "burst p95 ms at least"]
    harness.print_table(headers, [[name, *row.values()] for name, row in rows.items()])
    print(
        f"targets: {RATE_TARGET} turns/s for one process, {TWO_PROCESS_TARGET:.0f} for two, "
        f"burst p95 < {BURST_TARGET_MS} ms"
    )
    harness.write_results(
        "turn_floor",
        {
            "cores": cores,
            "frames_per_answer": FRAMES_PER_ANSWER,
            "common": common,
            "clients": rows,
            "targets": {
                "one_process_turns_per_s": RATE_TARGET,
                "two_processes_turns_per_s": TWO_PROCESS_TARGET,
                "burst_p95_ms": BURST_TARGET_MS,
            },
        },
    )


if __name__ == "__main__":
    main()
