"""``/cabinet/{slug}/events``: server-sent events for an open inbox or card — each change of
a message the person may see (``change``: id, version, status, who and when), then the
inbox's counts as they are now (``counts``). Pages without script simply do not update."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages.live import LiveMessages, MessageChange
from cabinets.messages.views import count_views
from cabinets.web.guards import page_requires
from cabinets.web.rendering import refusal_page

KEEPALIVE_SECONDS = 15.0
GATHER_SECONDS = 0.15  # changes arriving together (a bulk action) are told with one count
# A stream ends after this long and the browser opens it again (``retry``): an open page never
# holds a server that is asked to stop, and each new stream starts with the counts as they are,
# so nothing missed in between stays missed.
STREAM_SECONDS = 60.0


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@page_requires("message:read", own=True)
async def events(request: Request) -> Response:
    live: LiveMessages | None = getattr(request.app.state, "live", None)
    if live is None:
        return refusal_page(request, 503)
    staff, tenant_id, db = staff_of(request), request.state.tenant_id, database(request)

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        async with live.subscribe(lambda: staff_of(request), tenant_id) as subscription:
            yield "retry: 2000\n\n"
            yield _event("counts", await count_views(db, staff, tenant_id))
            while (left := ends - loop.time()) > 0:
                try:
                    first = await asyncio.wait_for(
                        subscription.queue.get(), timeout=min(KEEPALIVE_SECONDS, left)
                    )
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                await asyncio.sleep(GATHER_SECONDS)
                changes: list[MessageChange] = [first]
                while not subscription.queue.empty():
                    changes.append(subscription.queue.get_nowait())
                for change in changes:
                    yield _event("change", change.public())
                yield _event("counts", await count_views(db, staff_of(request), tenant_id))

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes = [Route("/cabinet/{slug}/events", events, methods=["GET"])]
