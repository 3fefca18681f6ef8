"""Helpers for tests that run the app, an upstream or a server it needs in a process of its own."""

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def stop(process: subprocess.Popen, seconds: float = 10) -> None:
    """SIGTERM, then SIGKILL if `process` has not exited within `seconds`.

    A Daphne process stopped with a request in flight can wait at exit for ever: the request's
    thread waits in async_to_sync for the event loop that stopped, and Python joins that thread.
    The speech engines' native thread pools can outlast Daphne's own shutdown too.
    """
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive free ports, for servers that start slowly.

    Below the range the kernel hands out to outgoing connections, so none of them can take a
    port between now and the server's bind, however long it takes to start.
    """
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        ephemeral = int(ports.read().split()[0])
    for _ in range(100):
        first = random.randrange(10_000, ephemeral - count)
        if all(_can_bind(port) for port in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} free ports in a row")


def _can_bind(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on port {port} within {seconds} s")


def skip_or_fail(reason: str) -> None:
    """Skip a test on a machine without what it needs; in CI, which provides it, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {reason}")
    pytest.skip(reason)


def installed_program(name: str, package: str) -> str:
    """The path of a program from a Debian package (skip_or_fail without it)."""
    # Debian keeps servers such as nginx in /usr/sbin, off an ordinary user's PATH.
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if path is None:
        skip_or_fail(f"{name} (apt-get install {package})")
    return path


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk, that the test
    can restart: never the machine's shared Redis."""

    def __init__(self, directory: Path) -> None:
        self.program = installed_program("redis-server", "redis-server")
        self.directory = directory
        # Restarted on the same port: one no outgoing connection can take meanwhile.
        self.port = free_ports_in_a_row(1)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.program, "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Killed and started again: every channel-layer group and undelivered frame is lost."""
        self.kill()
        self.start()
