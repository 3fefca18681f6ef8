"""Access-log lines without query strings: words typed into a search never reach a log."""

import logging


def without_query_string(path: str) -> str:
    return path.split("?", 1)[0]


class QueryStringFilter(logging.Filter):
    """Cuts the query string off the path of runserver's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        # runserver logs each request as `logger.info(format, details)`: the args are one dict.
        if isinstance(record.args, dict) and "path" in record.args:
            record.args = {**record.args, "path": without_query_string(record.args["path"])}
        return True
