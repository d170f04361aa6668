"""A child process kept running: ``priemnaya up`` runs its worker under one, so a worker that
exits (a crash, ``kill -9``, the out-of-memory killer) is started again, and said so in the log.

After an exit it waits before the next start, twice as long after each quick exit (1 s, 2 s,
4 s ... at most 30 s), so a worker that cannot start does not spin; a run that lasted a minute
starts the count again."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Sequence

import structlog

FIRST_DELAY_SECONDS = 1.0
LONGEST_DELAY_SECONDS = 30.0
HEALTHY_RUN_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0

log = structlog.get_logger(__name__)


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


class Supervised:
    def __init__(self, command: Sequence[str], *, name: str) -> None:
        self.command = list(command)
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the process to stop (SIGTERM), kill it after the grace period, and reap it."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=STOP_GRACE_SECONDS)

    def _run(self) -> None:
        delay = FIRST_DELAY_SECONDS
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)  # noqa: S603 (our own command)
            if self.restarts:
                log.info(f"the {self.name} started again", pid=self.process.pid)
            started = time.monotonic()
            returncode = self.process.wait()  # reaps it: no zombie is left
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
                delay = FIRST_DELAY_SECONDS
            log.warning(
                f"the {self.name} {_describe(returncode)}; starting it again",
                pid=self.process.pid,
                restart_in_seconds=delay,
                restarts=self.restarts,
            )
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            delay = min(delay * 2, LONGEST_DELAY_SECONDS)
