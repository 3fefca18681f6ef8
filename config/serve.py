"""Daphne's command line for production, with an access log that leaves query strings out.

Run it as Daphne itself: `python -m config.serve -b 0.0.0.0 -p 8001 config.asgi:application`.
Daphne writes its access log straight to a stream, past Python's logging, so the path is cut
where Daphne hands it to the access logger.
"""

from daphne.cli import CommandLineInterface
from daphne.server import Server

from config.access_log import without_query_string


class QueryStringFreeServer(Server):
    def log_action(self, protocol: str, action: str, details: dict) -> None:
        if "path" in details:
            details = {**details, "path": without_query_string(details["path"])}
        super().log_action(protocol, action, details)


class ServeCommandLine(CommandLineInterface):
    server_class = QueryStringFreeServer


if __name__ == "__main__":
    ServeCommandLine.entrypoint()
