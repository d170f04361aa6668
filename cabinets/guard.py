"""The guard at the edge: text PostgreSQL cannot store and shapes no one needs are refused
before any endpoint sees them, naming the field.

* Every query parameter and path segment, every JSON string (keys too) and every form field
  is checked for NUL characters and lone surrogates (``tenancy.storable``): 422.
* JSON nested deeper than ``MAX_JSON_DEPTH``, or that does not parse when it says it is JSON:
  422.
* A body is held to the limit of its route class, from ``Content-Length`` and again while it
  streams (a chunked body has none): 413. JSON and url-encoded forms take ``max_body_bytes``
  (``PRIEMNAYA_MAX_BODY_BYTES``, 1 MiB by default) and are read here whole, then handed on;
  a multipart form or a route that streams a file keeps the limits of its files (the upload
  services count them), and a multipart form's text fields are checked as they pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinets.problems import ProblemResponse, instance_of, invalid_input
from cabinets.web.rendering import unstorable_page, wants_page
from tenancy.errors import FieldError, InvalidInput
from tenancy.storable import unstorable

DEFAULT_MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 64  # a message with its extra fields nests four levels
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class EdgeGuard:
    """``streamed``: the endpoints whose body is a file, read as a stream by the service."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        streamed: Collection[Callable[..., Any]] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.streamed = set(streamed)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _query_problem(scope) or _path_problem(scope)
        if problem is not None:
            await _refuse(scope, receive, send, problem)
            return
        headers = Headers(scope=scope)
        if "content-length" not in headers and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        content_type, options = parse_options_header(headers.get("content-type"))
        if content_type == MULTIPART.encode():
            boundary = options.get(b"boundary")
            if boundary:
                receive = _MultipartTexts(receive, boundary).receive
            await self.app(scope, receive, send)
            return
        if _endpoint(scope) in self.streamed:
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        body = await read_at_most(receive, self.max_body_bytes)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        if content_type == FORM.encode():
            problem = _form_problem(body)
        else:
            problem = _json_problem(body, strict=content_type.endswith(b"json"))
        if problem is not None:
            await _refuse(scope, receive, send, problem)
            return
        await self.app(scope, replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        response = ProblemResponse(
            413,
            "Content too large",
            f"the body is larger than {limit} bytes, the most this request takes",
            limit=limit,
            **instance_of(scope),
        )
        await response(scope, receive, send)


def _endpoint(scope: Scope) -> Any:
    for route in scope["app"].router.routes:
        match, child = route.matches(scope)
        if match == Match.FULL:
            return child.get("endpoint")
    return None


def _query_problem(scope: Scope) -> FieldError | None:
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query:
        return None  # the common case (undecodable bytes become U+FFFD, which is storable)
    for name, value in parse_qsl(query, keep_blank_values=True):
        for text in (name, value):
            if reason := unstorable(text):
                return FieldError(name or "query", reason, "query", code="unstorable_text")
    return None


def _path_problem(scope: Scope) -> FieldError | None:
    reason = unstorable(scope["path"])
    if reason is None:
        return None
    for route in scope["app"].router.routes:
        match, child = route.matches(scope)
        if match != Match.NONE:
            for name, value in child.get("path_params", {}).items():
                if isinstance(value, str) and unstorable(value):
                    return FieldError(name, reason, "path", code="unstorable_text")
    return FieldError("path", reason, "path", code="unstorable_text")


def _form_problem(body: bytes) -> FieldError | None:
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            if reason := unstorable(text):
                return FieldError(name or "body", reason, "body", code="unstorable_text")
    return None


def _json_problem(body: bytes, *, strict: bool) -> FieldError | None:
    """What is wrong with a JSON body; one that is not JSON at all is refused only when it
    says it is (elsewhere the endpoint says what it takes)."""
    if not body.strip():
        return None
    try:
        document = json.loads(body)
    except RecursionError:
        return _too_deep("body")
    except ValueError as exc:
        if not strict:
            return None
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        return FieldError("body", f"is not valid JSON{where}", "body", code="invalid_json")
    # Walk without recursion: the depth is what is being checked.
    pending: list[tuple[str, Any, int]] = [("", document, 0)]
    while pending:
        path, value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return _too_deep(path or "body")
        if isinstance(value, str):
            if reason := unstorable(value):
                return FieldError(path or "body", reason, "body", code="unstorable_text")
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{path}.{key}" if path else str(key)
                if reason := unstorable(key):
                    return FieldError(inner, f"the name {reason}", "body", code="unstorable_text")
                pending.append((inner, item, depth + 1))
        elif isinstance(value, list):
            pending.extend(
                (f"{path}.{i}" if path else str(i), item, depth + 1) for i, item in enumerate(value)
            )
    return None


def _too_deep(field: str) -> FieldError:
    return FieldError(field, f"nests deeper than {MAX_JSON_DEPTH} levels", "body", code="too_deep")


async def read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit`` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The body read here, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: FieldError) -> None:
    request = Request(scope)
    if wants_page(request):
        response = unstorable_page(request, [problem.field])
    else:
        response = await invalid_input(request, InvalidInput([problem]))
    await response(scope, receive, send)


class _MultipartTexts:
    """Checks a multipart form's text fields as the body passes to the endpoint: a field that
    cannot be stored stops the reading with ``InvalidInput`` (the endpoint's form parsing
    raises it, and the endpoint answers as it answers any invalid input). Files pass as they
    are: their bytes are not text."""

    def __init__(self, receive: Receive, boundary: bytes) -> None:
        self._receive = receive
        self._name = ""
        self._is_file = False
        self._header_field = b""
        self._header_value = b""
        self._data = bytearray()
        self._problem: FieldError | None = None
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and self._problem is None:
            self._parser.write(message.get("body", b""))
        if self._problem is not None:
            raise InvalidInput([self._problem])
        return message

    def _part_begin(self) -> None:
        self._name, self._is_file, self._data = "", False, bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            self._name = options.get(b"name", b"").decode("utf-8", "replace")
            self._is_file = b"filename" in options
        self._header_field, self._header_value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        # Starlette bounds a text part (1 MiB); a file's bytes are not kept here.
        if not self._is_file:
            self._data += data[start:end]

    def _part_end(self) -> None:
        if self._is_file or self._problem is not None:
            return
        try:
            text = self._data.decode("utf-8")
        except UnicodeDecodeError:
            self._problem = FieldError(
                self._name or "body", "is not UTF-8 text", "body", code="invalid_text"
            )
            return
        if reason := unstorable(self._name + text):
            self._problem = FieldError(self._name or "body", reason, "body", code="unstorable_text")
