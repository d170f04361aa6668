"""Operational metrics at ``/metrics``, in the Prometheus text format.

Labels name routes by their template (``/api/v1/tenants/{slug}/messages``), methods, status
codes, pools and outcomes: never a tenant, a person or anything a request carried.

``priemnaya serve --workers N`` runs N processes behind one port, and a scrape reaches any one
of them; so with several workers the client library's multiprocess mode is on
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve``): each process writes its figures to a file
there and a scrape adds them up. Figures of the whole deployment (the outbox, the worker's
heartbeat) are read from the database at scrape time, by whichever process answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rbac.access import public
from tenancy.database import Database

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 5.0  # how often a process copies its own state into its gauges
UNMATCHED = "unmatched"  # the route label of a path no route answers: never the path itself

REQUESTS = Counter(
    "priemnaya_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "priemnaya_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MESSAGES_RECEIVED = Counter(
    "priemnaya_messages_received",
    "Citizens' messages accepted: filed with an organization, or kept in the operator's queue.",
    ["outcome"],
)
POOL_IN_USE = Gauge(
    "priemnaya_db_pool_in_use",
    "Database connections lent out of the web processes' pools right now.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "priemnaya_db_pool_capacity",
    "Connections the web processes' pools may hold (size plus overflow).",
    ["pool"],
    multiprocess_mode="livesum",
)
POLICY_LOADS = Gauge(
    "priemnaya_policy_full_loads",
    "Full loads of the permission policy, over the live web processes.",
    multiprocess_mode="livesum",
)
POLICY_CHANGES = Gauge(
    "priemnaya_policy_changes_applied",
    "Policy changes applied from notifications, over the live web processes.",
    multiprocess_mode="livesum",
)
POLICY_SILENCE = Gauge(
    "priemnaya_policy_sync_age_seconds",
    "Longest time any web process has gone without hearing from its policy feed "
    "(a notification or a keepalive); -1 before the first load.",
    multiprocess_mode="livemax",
)
ROUTING_BUILDS = Gauge(
    "priemnaya_routing_index_builds",
    "Routing index builds, over the live web processes.",
    multiprocess_mode="livesum",
)
ROUTING_SILENCE = Gauge(
    "priemnaya_routing_sync_age_seconds",
    "Longest time any web process has gone without hearing from its routing change feed; "
    "-1 before it first connects.",
    multiprocess_mode="livemax",
)
REPLICA_LAG = Gauge(
    "priemnaya_replica_lag_seconds",
    "How far the read replica's replay is behind the primary, as the web processes last "
    "measured it (the largest); -1: no replica answers, or none is configured.",
    multiprocess_mode="livemax",
)
REPLICA_READS = Gauge(
    "priemnaya_replica_reads",
    "Read transactions that could go to the read replica, by where they went (the primary: "
    "the replica was down, too far behind, or had not replayed the reader's own writes).",
    ["target"],
    multiprocess_mode="livesum",
)

_DEPLOYMENT_SQL = text(
    """
    SELECT
        (SELECT count(*) FROM outbox
          WHERE delivered_at IS NULL AND dead_at IS NULL) AS outbox_pending,
        (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL) AS outbox_dead,
        (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox
          WHERE delivered_at IS NULL AND dead_at IS NULL) AS outbox_oldest,
        (SELECT count(*) FROM account_mail
          WHERE delivered_at IS NULL AND dead_at IS NULL) AS mail_pending,
        (SELECT count(*) FROM account_mail WHERE dead_at IS NOT NULL) AS mail_dead,
        (SELECT extract(epoch FROM now() - min(created_at)) FROM account_mail
          WHERE delivered_at IS NULL AND dead_at IS NULL) AS mail_oldest,
        (SELECT extract(epoch FROM now() - max(seen_at)) FROM worker_heartbeats)
            AS heartbeat_age
    """
)


def share_between_processes(directory: Path) -> None:
    """Before starting several web processes: their figures go to files in ``directory``
    (emptied: counts of processes gone are no longer anyone's). An operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` wins."""
    if MULTIPROCESS_DIR in os.environ:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR] = str(directory)


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestMetrics:
    """Counts every HTTP request and times it, under its route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # The router writes the matched route into this same scope.
            route, method = _route_label(scope), scope["method"]
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
            REQUESTS.labels(route, method, str(status)).inc()


@contextlib.contextmanager
def _watching_pool(name: str, engine: AsyncEngine, capacity: int) -> Iterator[None]:
    gauge = POOL_IN_USE.labels(name)
    POOL_CAPACITY.labels(name).inc(capacity)

    def lent(*_: Any) -> None:
        gauge.inc()

    def returned(*_: Any) -> None:
        gauge.dec()

    event.listen(engine.sync_engine, "checkout", lent)
    event.listen(engine.sync_engine, "checkin", returned)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "checkout", lent)
        event.remove(engine.sync_engine, "checkin", returned)
        POOL_CAPACITY.labels(name).dec(capacity)


def _silence(heard_at: float | None, now: float) -> float:
    return -1.0 if heard_at is None else now - heard_at


def _sample(state: Any) -> None:
    """Copy this process's policy and routing state into its gauges."""
    now = time.time()
    policy, routing = state.policy, state.routing
    POLICY_LOADS.set(policy.full_loads)
    POLICY_CHANGES.set(policy.changes_applied)
    POLICY_SILENCE.set(_silence(policy.heard_at, now))
    ROUTING_BUILDS.set(routing.builds)
    ROUTING_SILENCE.set(_silence(routing.heard_at, now))
    replica = state.database.replica
    if replica is not None:
        REPLICA_LAG.set(-1.0 if replica.lag_seconds is None else replica.lag_seconds)
        for target, count in replica.reads.items():
            REPLICA_READS.labels(target).set(count)


@asynccontextmanager
async def process_metrics(state: Any, *, pool_capacity: int) -> AsyncIterator[None]:
    """For as long as a web process serves: its pools counted, its sync state sampled; at the
    end, its live gauges withdrawn from the multiprocess totals."""
    db: Database = state.database

    async def sample_forever() -> None:
        while True:
            _sample(state)
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample_forever(), name="metrics-sampler")
    try:
        with contextlib.ExitStack() as pools:
            pools.enter_context(_watching_pool("app", db.app_engine, pool_capacity))
            pools.enter_context(_watching_pool("privileged", db.privileged_engine, pool_capacity))
            if db.replica is not None:
                pools.enter_context(_watching_pool("replica", db.replica.engine, pool_capacity))
            yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if MULTIPROCESS_DIR in os.environ:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Figures(Collector):
    """Already-measured figures, as gauges, for one scrape."""

    def __init__(self, figures: Iterable[tuple[str, str, float]]) -> None:
        self.figures = list(figures)

    def collect(self) -> Iterable[Metric]:
        for name, documentation, value in self.figures:
            yield GaugeMetricFamily(name, documentation, value=value)


async def _deployment_figures(db: Database) -> list[tuple[str, str, float]]:
    async with db.privileged_session() as session:
        row = (await session.execute(_DEPLOYMENT_SQL)).one()
    return [
        ("priemnaya_outbox_pending", "Notifications waiting for delivery.", row.outbox_pending),
        ("priemnaya_outbox_dead", "Notifications given up on (dead letters).", row.outbox_dead),
        (
            "priemnaya_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting for delivery (0: none waits).",
            float(row.outbox_oldest or 0),
        ),
        ("priemnaya_account_mail_pending", "Account letters waiting.", row.mail_pending),
        ("priemnaya_account_mail_dead", "Account letters given up on.", row.mail_dead),
        (
            "priemnaya_account_mail_oldest_pending_age_seconds",
            "Age of the oldest account letter waiting (0: none waits).",
            float(row.mail_oldest or 0),
        ),
        (
            "priemnaya_worker_heartbeat_age_seconds",
            "Time since any background worker last beat (-1: no worker ever ran).",
            -1.0 if row.heartbeat_age is None else float(row.heartbeat_age),
        ),
    ]


def _process_registry() -> CollectorRegistry:
    if MULTIPROCESS_DIR not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@public
async def metrics(request: Request) -> Response:
    """
    summary: Operational metrics in the Prometheus text format.
    description: No tenant or person appears in any label. Serve it to the monitoring
      network only (see the runbook).
    tags: [operations]
    responses:
      200:
        description: The metrics.
        content:
          text/plain: {}
    """
    replica = request.app.state.database.replica
    if replica is not None:
        await replica.check()  # the lag as of this scrape, not of the last read
    _sample(request.app.state)
    deployment = CollectorRegistry(auto_describe=False)
    deployment.register(_Figures(await _deployment_figures(request.app.state.database)))
    body = generate_latest(_process_registry()) + generate_latest(deployment)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
