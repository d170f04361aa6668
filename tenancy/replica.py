"""A streaming read replica (a hot standby) for the reads that may be a moment stale.

Which reads go there is the caller's choice (``Database.read_session``); whether one may, at
this moment, is decided here:

* the replica must answer: one that does not is left alone for ``RETRY_SECONDS`` (logged once
  when it goes away and once when it is back), and its reads go to the primary;
* its replay must be within ``max_lag_seconds`` of the primary. The lag is sampled at most every
  ``CHECK_SECONDS``, on demand: the primary's WAL position is noted with the time, and the
  replica is as stale as the oldest noted position it has not replayed yet (or, if less, as
  the last transaction it replayed is old). An idle primary whose WAL the replica has all
  replayed is no lag, however long ago the last write was;
* a context that wrote (``ReadAfter``) reads there only once the replica has replayed the
  primary's WAL up to the position noted after the write: read-your-writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

CHECK_SECONDS = 1.0
RETRY_SECONDS = 5.0
DEFAULT_MAX_LAG_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 2  # a replica host that does not answer must not hold a read long
_SAMPLES = 120

PRIMARY_POSITION_SQL = text("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
_REPLAY_SQL = text(
    "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint AS replayed, "
    "extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS replay_age"
)

log = structlog.get_logger(__name__)


@dataclass
class ReadAfter:
    """The WAL position one person's reads must see (0: none), carried by their requests: set
    when a request begins, raised after one that wrote. Mutable, so the position noted deep
    in a request is the one the request's end hands back."""

    position: int = 0


EVERYTHING = (1 << 64) - 1  # a position no replica reaches: read on the primary
reading_after: ContextVar[ReadAfter | None] = ContextVar("reading_after", default=None)


def format_position(position: int) -> str:
    """A WAL position as PostgreSQL writes it (``16/B374D848``)."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def parse_position(given: object) -> int:
    """A WAL position as ``format_position`` wrote it; 0 for anything else."""
    if not isinstance(given, str) or given.count("/") != 1:
        return 0
    high, low = given.split("/")
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        return 0


class Replica:
    """One replica's health as this process last saw it, and where its reads may go."""

    def __init__(
        self, engine: AsyncEngine, primary: AsyncEngine, *, max_lag_seconds: float
    ) -> None:
        self.engine = engine
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.up = True
        self.lag_seconds: float | None = None  # None: not measured yet, or the replica is down
        self.replayed = 0  # the WAL position the replica had replayed when last asked
        self.reads = {"replica": 0, "primary": 0}  # read transactions, by where they went
        self._checked_at = float("-inf")
        self._checking = False
        self._next_check: asyncio.Task[None] | None = None
        self._positions: deque[tuple[float, int]] = deque(maxlen=_SAMPLES)

    async def usable(self) -> bool:
        """Whether reads may go to the replica now (up, and within the lag bound). A check
        that is due runs beside the read, which goes by the last one, unless that one is
        older than two intervals (the first read, or the first after a quiet spell)."""
        age = time.monotonic() - self._checked_at
        if age >= (CHECK_SECONDS if self.up else RETRY_SECONDS):
            if age > 2 * CHECK_SECONDS and self.up:
                await self.check()  # the first, or after a quiet spell: the last is too old
            elif self._next_check is None or self._next_check.done():
                self._next_check = asyncio.create_task(self.check(), name="replica-check")
            if time.monotonic() - self._checked_at > 2 * CHECK_SECONDS:
                return False  # another check is still under way: no recent word of the lag
        return self.up and self.lag_seconds is not None and self.lag_seconds <= self.max_lag_seconds

    async def close(self) -> None:
        """Stop a check under way, and let go of the replica's connections."""
        task, self._next_check = self._next_check, None
        if task is not None and not task.done():
            loop = task.get_loop()
            if loop is asyncio.get_running_loop():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not loop.is_closed():
                # Started from another event loop of this process (tests drive one app from
                # several): it is cancelled there; it holds nothing to wait for here.
                loop.call_soon_threadsafe(task.cancel)
        await self.engine.dispose()

    def serves(self, after: ReadAfter | None) -> bool:
        """Whether the replica is known to have replayed what ``after`` must see."""
        return after is None or after.position <= self.replayed

    async def check(self) -> None:
        """Sample the primary's position and the replica's replay, and work out the lag. One
        check at a time: the others meanwhile go by the last one."""
        if self._checking:
            return
        self._checking = True
        try:
            await self._check()
        finally:
            self._checked_at = time.monotonic()
            self._checking = False

    async def _check(self) -> None:
        try:
            async with self.primary.connect() as connection:
                position = int((await connection.execute(PRIMARY_POSITION_SQL)).scalar_one())
        except Exception as exc:
            # Without the primary's position there is no lag to speak of; the replica's reads
            # are as good as before (and the primary's own trouble shows elsewhere).
            log.warning("could not read the primary's WAL position", error=str(exc))
            return
        noted_at = time.monotonic()
        try:
            async with self.engine.connect() as connection:
                row = (await connection.execute(_REPLAY_SQL)).one()
        except Exception as exc:
            self.went_down(exc)
            return
        if not self.up:
            log.info("the read replica answers again; reads go to it")
        self.up = True
        self.replayed = int(row.replayed or 0)
        self._positions.append((noted_at, position))
        self.lag_seconds = self._lag(noted_at, row.replay_age)

    def _lag(self, now: float, replay_age: float | None) -> float:
        """How stale the replica is: 0 once it replayed all the primary had at the last
        sample; else the age of the oldest sample it has not reached, or of the last
        transaction it replayed, whichever is younger."""
        while len(self._positions) > 1 and self._positions[1][1] <= self.replayed:
            self._positions.popleft()  # a later sample it has reached makes this one moot
        if self._positions[-1][1] <= self.replayed:
            return 0.0
        first_missing = next(at for at, position in self._positions if position > self.replayed)
        # The oldest sample it has reached, if any, bounds the age of what it misses.
        reached = [at for at, position in self._positions if position <= self.replayed]
        staleness = now - (reached[-1] if reached else first_missing)
        if replay_age is not None:
            staleness = min(staleness, max(0.0, float(replay_age)))
        return staleness

    def went_down(self, exc: BaseException) -> None:
        """The replica failed to answer: its reads go to the primary until a later check."""
        if self.up:
            log.warning(
                "the read replica does not answer; reads go to the primary",
                error=str(exc),
                retry_seconds=RETRY_SECONDS,
            )
        self.up = False
        self.lag_seconds = None
        self._checked_at = time.monotonic()
