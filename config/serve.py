"""Daphne's command line for production, with an access log that leaves query strings out.

Run it as Daphne itself: `python -m config.serve -b 0.0.0.0 -p 8001 config.asgi:application`.
Daphne writes its access log straight to a stream, past Python's logging, so the path is cut
where Daphne hands it to the access logger.
"""

import asyncio

import uvloop

# Before daphne.server is imported: it creates its event loop and Twisted's reactor runs on it.
# uvloop does a socket read or a callback in less CPU than asyncio's own loop, and every answer
# and socket of the process waits on this one thread (bench/RESULTS.md, section 9).
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.server import Server  # noqa: E402

from config.access_log import without_query_string  # noqa: E402


class QueryStringFreeServer(Server):
    def log_action(self, protocol: str, action: str, details: dict) -> None:
        if "path" in details:
            details = {**details, "path": without_query_string(details["path"])}
        super().log_action(protocol, action, details)


class ServeCommandLine(CommandLineInterface):
    server_class = QueryStringFreeServer


if __name__ == "__main__":
    ServeCommandLine.entrypoint()
