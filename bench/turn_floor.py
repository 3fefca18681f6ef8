"""The CPU a chat turn cannot do without, on this machine, and the ceilings it sets on issue 12.

    .venv/bin/python bench/turn_floor.py      # ~2 min; starts its own upstream, nothing else

Three parts of every turn with memory on, each measured alone:

- **the openai SDK** (the design card's client) asking for and reading one answer: the same
  upstream and answer as throughput.py (tests/upstream.py in a process of its own, 40 words, one
  every 20 ms), the request a real turn sends (chat.turns' instructions, the memory and general
  tools, a user message). Client CPU per answer with 10 answers streaming at once, and, one
  answer at a time, up to its first delta; in the SDK's defaults (asyncio, httpx) and in what
  the web processes run (uvloop, aiohttp);
- **the upstream's own CPU** per answer: it shares the machine in throughput.py;
- **embedding the turn's message** (memories.embeddings.embed_text), as recall does.

Nothing of ours is in these numbers: no Django, no channel layer, no database, no websocket,
no proxy. So what they add up to is a floor, and the ceilings computed from it are upper
bounds of what any code of ours could reach here:

- one web process: the SDK runs on its event loop's one thread, under the GIL, so that process
  streams at most 1000 / (SDK ms) answers a second even doing nothing else;
- the machine: its cores shared by the web processes, the upstream and the embedding, at most
  cores x 1000 / (SDK + upstream + embedding ms) turns a second, whatever the process count;
- a burst of 200 at the same instant: the 190th first token (p95) comes after at least
  190 x (the CPU up to a first delta) / cores.
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


async def typed_events(base_url: str, request: dict) -> AsyncIterator[bool]:
    """The SDK as its README shows it: `responses.create`, a typed model of every event, on its
    default transport (httpx). Yields whether each event is a text delta."""
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


async def shipped_events(base_url: str, request: dict) -> AsyncIterator[bool]:
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


def ceilings(sdk: dict, embedding_ms: float, cores: int) -> dict:
    per_turn = sdk["sdk_cpu_ms_per_answer"] + sdk["upstream_cpu_ms_per_answer"] + embedding_ms
    # The upstream's CPU before its first delta is a small part of its answer: left out, so
    # the burst floor stays a floor.
    to_first_delta = sdk["sdk_cpu_ms_to_first_delta"] + embedding_ms
    return {
        "floor_cpu_ms_per_turn": round(per_turn, 1),
        "one_process_turns_per_s_at_most": round(1000 / sdk["sdk_cpu_ms_per_answer"], 1),
        "machine_turns_per_s_at_most": round(cores * 1000 / per_turn, 1),
        "burst_p95_ms_at_least": round((BURST * 0.95) * to_first_delta / cores),
    }


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.parse_args()
    harness.setup_django("turn-floor")
    import uvloop

    request = turn_request()
    parent, child = multiprocessing.Pipe()
    upstream = multiprocessing.Process(target=serve_upstream, args=(child,), daemon=True)
    upstream.start()
    base_url = parent.recv()
    cores = os.cpu_count() or 1
    rows = {}
    try:
        for name, loop_factory, events in (
            ("responses.create on asyncio + httpx", None, typed_events),
            ("as shipped (stream_reply, uvloop + aiohttp)", uvloop.new_event_loop, shipped_events),
        ):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                rows[name] = runner.run(read_answers(events, base_url, request, upstream.pid))
    finally:
        parent.send("stop")
        upstream.join(timeout=10)
    embedding_ms = embedding_cpu_ms()
    for row in rows.values():
        row.update(ceilings(row, embedding_ms, cores))
    headers = [
        "client",
        "SDK CPU ms/answer",
        "SDK CPU ms to 1st delta",
        "upstream CPU ms/answer",
        "floor ms/turn",
        "1 process: turns/s at most",
        f"{cores} cores: turns/s at most",
        "burst p95 ms at least",
    ]
    harness.print_table(headers, [[name, *row.values()] for name, row in rows.items()])
    print(
        f"embedding one message: {embedding_ms} ms CPU; targets: {RATE_TARGET} turns/s for one "
        f"process, {TWO_PROCESS_TARGET:.0f} for two, burst p95 < {BURST_TARGET_MS} ms"
    )
    harness.write_results(
        "turn_floor",
        {
            "cores": cores,
            "embedding_cpu_ms_per_message": embedding_ms,
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
