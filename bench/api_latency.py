"""Memory API search latency at 10k memories over HTTP, beside the in-process search; MCP calls.

    .venv/bin/python bench/api_latency.py [--postgres] [--queries 200]

One user holds 10,000 memories (bulk-inserted as retrieval_speed.py does). Daphne serves the app
on 127.0.0.1 in a process of its own; the client runs here, keep-alive, so each figure includes
the HTTP round trip, token check, rate limit count, the search and the call log. Then 10 clients
search at once (one thread and one connection each) for throughput. The same queries run
in-process through memories.selectors.search_memories for comparison. Last, the MCP server's
search_memories and list_memories tools, called through the `mcp` SDK's client on one session.
"""

import asyncio
import os
import subprocess
import sys
import threading
import time

import harness
import httpx
import httpx2
import synthetic
from retrieval_speed import bulk_insert
from streaming_load import free_port

MEMORIES = 10_000
SEED = 2024
CLIENTS = 10
MCP_CALLS = 100
LOG = "/tmp/recall-bench-api-daphne.log"


def start_daphne(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        # The benchmark measures the API, not its rate limit.
        "API_RATE_LIMIT_PER_MINUTE": str(10**9),
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=harness.REPO_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(LOG, "w"),  # noqa: SIM115 (lives as long as Daphne)
    )
    for _ in range(240):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                raise SystemExit(f"Daphne exited; see {LOG}") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("Daphne did not answer within 120 s")


def http_searches(base: str, secret: str, queries: list[str]) -> list[float]:
    seconds = []
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for query in queries:
            started = time.perf_counter()
            response = client.post("/api/v1/memories/search", json={"query": query, "limit": 10})
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return seconds


def concurrent_searches(base: str, secret: str, queries: list[str]) -> dict:
    per_client = [queries[number::CLIENTS] for number in range(CLIENTS)]
    results: list[list[float]] = [[] for _ in range(CLIENTS)]

    def run(number: int) -> None:
        results[number] = http_searches(base, secret, per_client[number])

    threads = [threading.Thread(target=run, args=(number,)) for number in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    every = [s for client in results for s in client]
    return {
        "clients": CLIENTS,
        "requests": len(every),
        "requests_per_second": round(len(every) / wall, 1),
        "latency": harness.latency_summary(every),
    }


async def mcp_calls(base: str, secret: str, queries: list[str]) -> dict:
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    timings: dict[str, list[float]] = {"search_memories": [], "list_memories": []}
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        for query in queries[:5]:
            await client.call_tool("search_memories", {"query": query})
        for query in queries[:MCP_CALLS]:
            for tool, arguments in (
                ("search_memories", {"query": query, "limit": 10}),
                ("list_memories", {"limit": 20}),
            ):
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                timings[tool].append(time.perf_counter() - started)
                assert not result.is_error, result.content
    return {tool: harness.latency_summary(seconds) for tool, seconds in timings.items()}


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    options = parser.parse_args()
    harness.setup_django("api", options.postgres)
    from accounts.models import User
    from memories import selectors, tokens
    from memories.scopes import PERSON_ONLY

    owner = User.objects.create_user(username="bench-api", password=None)
    texts = synthetic.memory_texts(MEMORIES, SEED)
    bulk_insert(owner, texts, harness.cached_embeddings(texts, "api"))
    secret = tokens.create_token(owner, "bench", scope="all").secret
    queries = synthetic.queries(options.queries, SEED + 1)

    for query in queries[:10]:
        selectors.search_memories(owner, query, scopes=PERSON_ONLY, limit=10)
    in_process = []
    for query in queries:
        started = time.perf_counter()
        selectors.search_memories(owner, query, scopes=PERSON_ONLY, limit=10)
        in_process.append(time.perf_counter() - started)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_daphne(port)
    try:
        http_searches(base, secret, queries[:10])
        sequential = http_searches(base, secret, queries)
        concurrent = concurrent_searches(base, secret, queries)
        mcp = asyncio.run(mcp_calls(base, secret, queries))
    finally:
        server.terminate()
        server.wait(timeout=10)

    rows = [
        ["in-process search (selectors)", *_row(harness.latency_summary(in_process))],
        ["API search, 1 client (HTTP)", *_row(harness.latency_summary(sequential))],
        [f"API search, {CLIENTS} clients (HTTP)", *_row(concurrent["latency"])],
        ["MCP search_memories", *_row(mcp["search_memories"])],
        ["MCP list_memories", *_row(mcp["list_memories"])],
    ]
    print(f"\n{MEMORIES} memories, {len(queries)} queries, database {database_name()}")
    harness.print_table(["path", "p50 ms", "p95 ms", "mean ms", "n"], rows)
    throughput = concurrent["requests_per_second"]
    sequential_rate = round(len(sequential) / sum(sequential), 1)
    in_process_rate = round(len(in_process) / sum(in_process), 1)
    print(
        f"\nthroughput: {throughput} searches/s with {CLIENTS} clients, "
        f"{sequential_rate}/s with 1 client, {in_process_rate}/s in-process"
    )
    harness.write_results(
        "api_latency",
        {
            "memories": MEMORIES,
            "queries": len(queries),
            "database": database_name(),
            "in_process_search": harness.latency_summary(in_process),
            "in_process_searches_per_second": in_process_rate,
            "api_search_one_client": harness.latency_summary(sequential),
            "api_searches_per_second_one_client": sequential_rate,
            "api_search_concurrent": concurrent,
            "mcp": mcp,
        },
    )


def _row(summary: dict) -> list:
    return [summary["p50_ms"], summary["p95_ms"], summary["mean_ms"], summary["n"]]


def database_name() -> str:
    return "postgresql" if os.environ["DATABASE_URL"].startswith("postgres") else "sqlite"


if __name__ == "__main__":
    sys.exit(main())
