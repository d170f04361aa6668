"""Request context: a request id on every log line and response, and one log line per request.

Nothing escapes to the server: an exception no handler took is answered here (a problem, 503
for a database that cannot be reached) and logged once, so uvicorn does not log it again."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinets.problems import fault_response

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
log = structlog.get_logger("priemnaya.request")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        # Keep a caller's id (a proxy's, say) only when it is harmless to log.
        request_id = incoming if _ACCEPTABLE_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if response_started:
                    log.error("failed while answering", exc_info=exc, path=scope["path"])
                else:
                    await fault_response(scope, exc)(scope, receive, send_with_id)
            finally:
                fault = scope["state"].get("fault")
                (log.warning if fault else log.info)(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    **({"fault": fault} if fault else {}),
                )
