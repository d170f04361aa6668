"""Browser-facing protections: security headers on every response, and CSRF checks on every
state-changing request that rides on the session cookie."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinets.guard import read_at_most, replay
from cabinets.problems import ProblemResponse, instance_of

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Signed upload and download URLs carry their own credential (the token); Open311 clients
# post from their own sites by design.
# Signed upload and download URLs carry their own credential (the token), and so does a
# letter's one-click unsubscribe link, which mail programs post to.
CSRF_EXEMPT = ("/attachments/", "/open311/", "/unsubscribe/")
MAX_FORM_BYTES = 1 << 20  # a sign-in or answer form; files go as multipart with the header

# Pages meant to be embedded by organization sites set their own frame-ancestors; everything
# else may not be framed at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.defaults = [
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            # One-time links carry their secret in the path: never send it elsewhere.
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
        ]
        if https:
            self.defaults.append(
                ("strict-transport-security", "max-age=63072000; includeSubDomains")
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.defaults:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfProtection:
    """Refuses a state-changing request that the browser may have sent on another site's
    behalf: one that carries our session cookie (or posts a form) without the session's CSRF
    token, in the ``X-CSRF-Token`` header, the ``csrf_token`` form field, or (for multipart
    forms, whose body we do not buffer) the ``csrf_token`` query parameter.

    Requests with ``Authorization`` carry their own credentials and are not checked; anonymous
    JSON requests carry none (a browser cannot send cross-site JSON without CORS)."""

    def __init__(self, app: ASGIApp, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"].startswith(self.exempt)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "authorization" in headers:
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        expected = session.get("csrf")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        is_form = content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}
        if not is_form and "sid" not in session:
            await self.app(scope, receive, send)
            return
        supplied = headers.get(CSRF_HEADER)
        if supplied is None and content_type == "multipart/form-data":
            supplied = _field(scope.get("query_string", b"").decode())
        if supplied is None and content_type == "application/x-www-form-urlencoded":
            body = await read_at_most(receive, MAX_FORM_BYTES)
            if body is None:
                await _refuse(scope, send, 413, "Content too large", "the form is too large")
                return
            supplied = _field(body.decode("utf-8", "replace"))
            receive = replay(body, receive)
        if not expected or not supplied or not hmac.compare_digest(str(expected), supplied):
            await _refuse(
                scope,
                send,
                403,
                "Forbidden",
                "the form has expired or did not come from this site (CSRF token missing or "
                "wrong): reload the page and try again",
            )
            return
        await self.app(scope, receive, send)


def _field(encoded: str) -> str | None:
    values = parse_qs(encoded).get(CSRF_FIELD)
    return values[0] if values else None


async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str) -> None:
    response = ProblemResponse(status, title, detail, **instance_of(scope))
    await response(scope, _nothing_more, send)


async def _nothing_more() -> Message:
    return {"type": "http.disconnect"}
