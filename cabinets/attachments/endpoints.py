"""HTTP endpoints of files: citizens' uploads (streamed through the app, or straight to storage
and then confirmed), the local disk's signed upload and download URLs, staff's answer files,
and downloads after a permission check."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from cabinets.attachments.uploads import (
    confirm_citizen_upload,
    prepare_citizen_upload,
    receive_citizen_upload,
)
from cabinets.messages.actors import Staff
from cabinets.messages.files import add_answer_file, list_files, staff_file_link, tracked_file_link
from rbac.access import public, requires
from storage.antivirus import VirusScanner
from storage.attachments import download_headers, receive_signed_upload
from storage.object_store import ObjectStore
from storage.signed_urls import verify_download_token, verify_upload_token
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.settings import Settings


class DirectUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=64)
    territory: str = Field(pattern=r"^[0-9]{2,11}$")
    filename: str = Field(min_length=1, max_length=1000)
    size: int = Field(ge=1)
    content_type: str = Field(default="application/octet-stream", max_length=200)


class ConfirmUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


def _scanner(request: Request) -> VirusScanner | None:
    scanner: VirusScanner | None = request.app.state.scanner
    return scanner


def _query(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise InvalidInput.one(name, "required")
    return value


def _uuid(request: Request, name: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise NotFound(what, request.path_params[name]) from None


async def _json(request: Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(await request.json())
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise InvalidInput.from_validation(exc) from None
        raise InvalidInput.one("body", "send a JSON object") from None


def _staff(request: Request) -> Staff:
    return Staff.of(request.user, request.app.state.policy.enforcer)


@public
async def upload(request: Request) -> Response:
    """
    summary: Upload a file for a message about to be sent (the body is the file, streamed).
    tags: [files]
    parameters:
      - {name: topic, in: query, required: true, schema: {type: string}}
      - {name: territory, in: query, required: true, schema: {type: string}}
      - {name: filename, in: query, required: true, schema: {type: string}}
    responses:
      201: {description: "Kept, pending: send its id and token with the message."}
      422:
        description: Too large, a forbidden type (judged by content), an empty file, a bad name.
      503:
        description: Storage cannot be reached; nothing was kept.
    """
    receipt = await receive_citizen_upload(
        _db(request),
        _store(request),
        await request.app.state.routing.index(),
        request.stream(),
        topic=_query(request, "topic"),
        territory=_query(request, "territory"),
        filename=_query(request, "filename"),
        scanner=_scanner(request),
    )
    return JSONResponse(receipt.model_dump(mode="json"), status_code=201)


@public
async def direct_upload(request: Request) -> Response:
    """
    summary: Ask to send a file straight to storage (an S3 POST policy, or a signed URL).
    tags: [files]
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/DirectUploadRequest'}
    responses:
      201: {description: "Where and how to send the bytes; then confirm."}
    """
    body: DirectUploadRequest = await _json(request, DirectUploadRequest)
    receipt = await prepare_citizen_upload(
        _db(request),
        _store(request),
        await request.app.state.routing.index(),
        topic=body.topic,
        territory=body.territory,
        filename=body.filename,
        size=body.size,
        content_type=body.content_type,
    )
    return JSONResponse(receipt.model_dump(mode="json"), status_code=201)


@public
async def confirm_upload(request: Request) -> Response:
    """
    summary: Confirm a file sent straight to storage; it is checked like any upload.
    tags: [files]
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/ConfirmUpload'}
    responses:
      200: {description: "Checked and pending."}
    """
    body: ConfirmUpload = await _json(request, ConfirmUpload)
    receipt = await confirm_citizen_upload(
        _db(request),
        _store(request),
        _uuid(request, "upload_id", "upload"),
        body.token,
        scanner=_scanner(request),
    )
    return JSONResponse(receipt.model_dump(mode="json"))


def _signing_key(request: Request) -> str:
    settings: Settings = request.app.state.settings
    assert settings.secret_key is not None
    return settings.secret_key


@public
async def signed_upload(request: Request) -> Response:
    """The local disk's stand-in for an S3 upload URL: the token grants one key and size."""
    grant = verify_upload_token(_signing_key(request), _query(request, "token"))
    await receive_signed_upload(_store(request), grant, request.stream())
    return Response(status_code=204)


@public
async def signed_download(request: Request) -> Response:
    """The local disk's stand-in for a presigned S3 GET: short-lived, one file."""
    grant = verify_download_token(_signing_key(request), _query(request, "token"))
    reader = _store(request).open(grant.key)
    return StreamingResponse(reader, headers=download_headers(grant.filename, grant.content_type))


@requires("message:read", own=True)
async def message_files(request: Request) -> Response:
    """
    summary: The files of a message (the citizen's and the answer's).
    tags: [files]
    security: [{bearer: []}, {cookie: []}]
    responses:
      200: {description: "The files."}
    """
    files = await list_files(
        _db(request),
        _staff(request),
        request.state.tenant_id,
        _uuid(request, "message_id", "message"),
    )
    return JSONResponse([f.model_dump(mode="json") for f in files])


@requires("message:read", own=True)
async def message_file(request: Request) -> Response:
    """
    summary: Download one file of a message (a short-lived link, after the permission check).
    tags: [files]
    security: [{bearer: []}, {cookie: []}]
    responses:
      303: {description: "To the short-lived download link."}
    """
    link = await staff_file_link(
        _db(request),
        _store(request),
        _staff(request),
        request.state.tenant_id,
        _uuid(request, "message_id", "message"),
        _uuid(request, "file_id", "file"),
    )
    return RedirectResponse(link, status_code=303)


@requires("answer:draft", own=True)
async def answer_file(request: Request) -> Response:
    """
    summary: Add a document to the answer (the body is the file, streamed).
    tags: [files]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: filename, in: query, required: true, schema: {type: string}}
    responses:
      201: {description: "Attached to the message."}
    """
    receipt = await add_answer_file(
        _db(request),
        _store(request),
        _staff(request),
        request.state.tenant_id,
        _uuid(request, "message_id", "message"),
        request.stream(),
        filename=_query(request, "filename"),
        scanner=_scanner(request),
    )
    return JSONResponse(receipt.model_dump(mode="json", exclude={"token"}), status_code=201)


@public
async def tracked_file(request: Request) -> Response:
    """
    summary: The citizen downloads their file, or the answer's (with the tracking token).
    tags: [files]
    responses:
      303: {description: "To the short-lived download link."}
    """
    link = await tracked_file_link(
        _db(request),
        _store(request),
        request.path_params["number"],
        _query(request, "token"),
        _uuid(request, "file_id", "file"),
    )
    return RedirectResponse(link, status_code=303)


routes = [
    Route("/api/v1/uploads", upload, methods=["POST"]),
    Route("/api/v1/uploads/direct", direct_upload, methods=["POST"]),
    Route("/api/v1/uploads/{upload_id}/confirm", confirm_upload, methods=["POST"]),
    Route("/attachments/upload", signed_upload, methods=["PUT"]),
    Route("/attachments/download", signed_download, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/messages/{message_id}/files", message_files, methods=["GET"]),
    Route(
        "/api/v1/tenants/{slug}/messages/{message_id}/files/{file_id}",
        message_file,
        methods=["GET"],
    ),
    Route(
        "/api/v1/tenants/{slug}/messages/{message_id}/answer-files",
        answer_file,
        methods=["POST"],
    ),
    Route("/api/v1/tracking/{number}/files/{file_id}", tracked_file, methods=["GET"]),
]
