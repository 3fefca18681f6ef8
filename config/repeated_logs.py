"""Log records that repeat while a service is down pass once a minute, saying how many were held.

With Redis down, each process's channel layer logs a traceback a second and each streaming
answer a warning a frame: an hour's outage was tens of thousands of lines saying one thing.
"""

import logging
import threading
import time
from collections.abc import Callable


class RepeatsFilter(logging.Filter):
    """Lets a record through once per `seconds` for each logger and message template.

    Records above `max_level` always pass: a repeat is held back only where it says nothing new.
    """

    def __init__(
        self,
        seconds: float = 60,
        max_level: int | str = logging.CRITICAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.seconds = seconds
        if isinstance(max_level, str):
            max_level = logging.getLevelName(max_level)
        self.max_level = max_level
        self.clock = clock
        self._lock = threading.Lock()
        # (logger, template) -> (when one last passed, how many were held back since)
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > self.max_level:
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            passed_at, held = self._last.get(key, (None, 0))
            if passed_at is not None and now - passed_at < self.seconds:
                self._last[key] = (passed_at, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            # Appended after formatting, so a "%" in what is appended cannot break the record.
            record.msg = f"{record.getMessage()} ({held} more like it held back)"
            record.args = None
        return True

    def forget(self) -> None:
        """Let the next record of every kind through, as after a quiet minute."""
        with self._lock:
            self._last.clear()
