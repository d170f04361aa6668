"""`priemnaya up`, `serve` and `worker`: running the web app and the background worker."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import click

from tenancy import migrate
from tenancy.console import (
    CommandError,
    actor,
    reports_errors,
    settings,
)


def port_problem(host: str, port: int) -> str | None:
    """Why the web app cannot listen on host:port, or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: connections of a server just stopped (TIME_WAIT) do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror} (is another server running?)"
    return None


def _url_host(host: str) -> str:
    """The host as a URL names it: a wildcard address is reached on this machine, IPv6 in []."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 (naming it, not binding it)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@click.command("up")
@click.option("--demo", is_flag=True, help="Seed the demo region (once).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@reports_errors
def up(demo: bool, host: str, port: int) -> None:
    """Start everything: database, migrations, web app and worker; Ctrl-C stops it all."""
    import asyncio

    import uvicorn

    from cabinets.app import create_app
    from cabinets.supervisor import Supervised
    from tenancy.database import Database, resolve_database_urls
    from tenancy.demo import DEMO_PASSWORD, seed_demo
    from tenancy.embedded import EmbeddedPostgres
    from tenancy.logs import configure_logging

    # Links handed to citizens (receipts, status pages) point where this server listens, unless
    # the operator said where it is reached from outside. The worker inherits the same.
    if not os.environ.get("PRIEMNAYA_BASE_URL"):
        os.environ["PRIEMNAYA_BASE_URL"] = f"http://{_url_host(host)}:{port}"
    current = settings()
    configure_logging(current)
    if problem := port_problem(host, port):
        raise CommandError(problem)

    embedded = EmbeddedPostgres(current.pgdata) if current.embedded else None
    started_here = embedded is not None and not embedded.status().running
    worker: Supervised | None = None
    try:
        urls = resolve_database_urls(current)
        before, after = migrate.upgrade(urls)
        if before != after:
            click.echo(f"schema migrated to {after}", err=True)
        if demo:

            async def seed() -> int:
                from cabinets.demo import seed_demo_messages

                database = Database(urls, pool_size=1)
                try:
                    created = await seed_demo(database, actor=actor())
                    if created:
                        await seed_demo_messages(database, base_url=current.base_url)
                    return created
                finally:
                    await database.dispose()

            created = asyncio.run(seed())
            click.echo(
                f"demo region seeded: {created} tenants" if created else "demo region present",
                err=True,
            )
        worker = Supervised([sys.executable, "-m", "cli", "worker"], name="worker")
        worker.start()
        url = f"http://{_url_host(host)}:{port}"
        click.echo(
            f"Priemnaya is up at {url}  (readiness: {url}/readyz, API: {url}/api/openapi.json)"
        )
        click.echo(f"Citizens write at {url}/write and follow their message by its link")
        if demo:
            click.echo(f"Demo region: {url}/api/v1/tenants/demo-oblast/tree")
            click.echo(
                f"Sign in at {url}/auth/sign-in as any demo staff member, e.g. "
                f"coordinator@demo.example.ru, with the password {DEMO_PASSWORD!r}"
            )
            click.echo(
                "Demo staff: `priemnaya staff list`; ask why with "
                "`priemnaya policy check coordinator@demo.example.ru demo-minobr message:assign "
                "--explain`; an API token: `priemnaya token create --tenant demo-minobr "
                "--role coordinator --name try` then GET /api/v1/me with it"
            )
        config = uvicorn.Config(
            create_app(current), host=host, port=port, log_config=None, access_log=False
        )
        # uvicorn handles SIGINT/SIGTERM while it runs and re-raises them on the handlers it
        # found on exit; no-op handlers there let the clean-up below run instead of dying.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        uvicorn.Server(config).run()
    finally:
        if worker is not None:
            worker.stop()
        if started_here and embedded is not None:
            embedded.stop()
            click.echo("embedded database stopped", err=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@reports_errors
def serve(host: str, port: int, workers: int) -> None:
    """Run only the web app (production: one per container, behind a load balancer)."""
    import uvicorn

    from tenancy.logs import configure_logging

    current = settings()
    configure_logging(current)
    if problem := port_problem(host, port):
        raise CommandError(problem)
    if workers > 1:
        from cabinets.metrics import share_between_processes

        share_between_processes(current.home / "metrics")
    uvicorn.run(
        "cabinets.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@click.command("worker")
@click.option(
    "--alive-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Touch this file after every round (a liveness probe checks its age).",
)
@reports_errors
def worker_command(alive_file: Path | None) -> None:
    """Run only the background worker."""
    import asyncio

    from cabinets.worker import run_worker
    from tenancy.database import Database, resolve_database_urls
    from tenancy.logs import configure_logging

    current = settings()
    configure_logging(current)
    urls = resolve_database_urls(current, start_embedded=False)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        database = Database(urls, pool_size=1)
        try:
            await run_worker(database, stop, current, alive_file=alive_file)
        finally:
            await database.dispose()

    asyncio.run(go())
