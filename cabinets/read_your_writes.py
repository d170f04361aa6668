"""Read-your-writes with a read replica: a person who just changed something sees the change
on their next page, though the replica may not have replayed it yet.

After a request that may have written (any method but GET, HEAD and OPTIONS) the primary's WAL
position is kept in the signed session cookie; the person's later requests read on the replica
only once it has replayed that far (``tenancy.replica``), and on the primary until then. Other
people's reads are not held back. Without a replica this does nothing.
"""

from __future__ import annotations

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenancy.replica import (
    EVERYTHING,
    ReadAfter,
    format_position,
    parse_position,
    reading_after,
)

SESSION_KEY = "read_after"
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

log = structlog.get_logger(__name__)


class ReadYourWrites:
    """Inside the session middleware: the session is there, and is saved after this."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        database = getattr(scope["app"].state, "database", None) if "app" in scope else None
        if scope["type"] != "http" or database is None or database.replica is None:
            await self.app(scope, receive, send)
            return
        session = scope.get("session")
        writes = scope["method"] not in READING_METHODS
        kept = parse_position(session.get(SESSION_KEY)) if session else 0
        # While it runs, a request that writes reads on the primary (what it wrote included).
        after = ReadAfter(EVERYTHING if writes else kept)

        async def send_noting_position(message: Message) -> None:
            if writes and message["type"] == "http.response.start" and session is not None:
                try:
                    position = max(kept, await database.write_position())
                    session[SESSION_KEY] = format_position(position)
                except Exception as exc:
                    # The answer stands; the next reads may not see this write for a moment.
                    log.warning("could not note the primary's WAL position", error=str(exc))
            await send(message)

        token = reading_after.set(after)
        try:
            await self.app(scope, receive, send_noting_position)
        finally:
            reading_after.reset(token)
