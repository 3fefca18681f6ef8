"""config.repeated_logs: a repeat passes once a minute, then says how many were held back."""

import logging

from config.repeated_logs import RepeatsFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(message: str, *args: object, level: int = logging.WARNING, name: str = "chat.runner"):
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_a_repeat_within_the_minute_is_held_and_counted_on_the_next_that_passes():
    clock = Clock()
    repeats = RepeatsFilter(seconds=60, clock=clock)
    frame_lost = "A frame of conversation %s reached no page: %s"

    passed = [repeats.filter(record(frame_lost, n, "ConnectionError")) for n in range(5)]
    clock.now += 61
    later = record(frame_lost, 9, "ConnectionError")

    assert passed == [True, False, False, False, False]
    assert repeats.filter(later)
    assert later.getMessage() == (
        "A frame of conversation 9 reached no page: ConnectionError (4 more like it held back)"
    )


def test_other_templates_and_loggers_are_counted_apart():
    repeats = RepeatsFilter(seconds=60, clock=Clock())

    assert repeats.filter(record("The lease of answer %s could not be renewed", 1))
    assert repeats.filter(record("A frame of conversation %s reached no page: %s", 1, "OSError"))
    assert repeats.filter(record("The lease of answer %s could not be renewed", 1, name="other"))
    assert not repeats.filter(record("The lease of answer %s could not be renewed", 2))


def test_records_above_the_level_always_pass():
    repeats = RepeatsFilter(seconds=60, max_level="WARNING", clock=Clock())
    failed = record("The answer %s failed", 1, level=logging.ERROR)

    failures = [repeats.filter(failed), repeats.filter(failed)]

    assert failures == [True, True]


def test_a_percent_sign_in_the_message_survives_the_count():
    clock = Clock()
    repeats = RepeatsFilter(seconds=60, clock=clock)
    repeats.filter(record("%s done", "50%"))
    repeats.filter(record("%s done", "50%"))
    clock.now += 60
    again = record("%s done", "100%")

    assert repeats.filter(again)
    assert again.getMessage() == "100% done (1 more like it held back)"
