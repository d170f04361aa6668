"""Sign-in pages and their JSON twins: password, single sign-on, sign-out, password reset and
invitations. Endpoints parse, call one service and render; sessions live in the database and
the signed session cookie carries only their id, the CSRF token and a provider's handshake."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cabinets.problems import ProblemResponse, instance_of
from cabinets.web.rendering import render_page
from rbac.access import Principal, public, signed_in
from rbac.account_links import LinkPurpose
from rbac.oidc import IdentityProviders, ProviderRefused, ProviderUnavailable
from tenancy.accounts import service
from tenancy.accounts.schemas import SignedIn
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.settings import Settings
from tenancy.staff import service as staff


def _safe_next(value: str | None) -> str:
    """Only a path on this site: an open redirect would lend our name to phishing. Empty when
    none was asked for (or a foreign one): then people land by what they are."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else ""


async def _landing(db: Database, signed: SignedIn, asked: str) -> str:
    """Where a person goes after signing in: where they asked to, else their organizations'
    cabinet, else the operator's pages, else their own messages."""
    if asked:
        return asked
    found = await staff.workplaces(db, signed.user_id)
    if found.organizations:
        return "/cabinet"
    if found.platform_roles:
        return "/operator"
    return "/my"


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


def _begin_session(request: Request, signed: SignedIn) -> None:
    # A fresh cookie on sign-in: nothing planted before it (session fixation) survives.
    request.session.clear()
    request.session["sid"] = signed.cookie
    request.session["csrf"] = secrets.token_urlsafe(32)


# What the sign-in pages say for each kind of refusal (the JSON twin keeps the service's words).
_REFUSALS = {
    "wrong_password": "Неверная эл. почта или пароль.",
    "deactivated": "Учётная запись отключена: обратитесь к администратору.",
    "unconfirmed": "Сначала подтвердите адрес эл. почты: откройте ссылку из нашего письма.",
    "no_email": "Сервис входа не передал адрес эл. почты: разрешите передать его.",
    "unverified_email": "Сервис входа не подтвердил ваш адрес эл. почты: подтвердите его там.",
    "no_account": "Для этого адреса здесь нет учётной записи: обратитесь к администратору.",
}


def refusal_words(refused: service.SignInRefused) -> str:
    if refused.code.startswith("throttled_") and refused.retry_after is not None:
        minutes = max(1, round(refused.retry_after.total_seconds() / 60))
        if refused.code == "throttled_account":
            return (
                "Слишком много неудачных попыток входа в эту учётную запись: попробуйте снова "
                f"через {minutes} мин. или восстановите пароль."
            )
        return (
            "Слишком много неудачных попыток входа с вашего адреса: попробуйте снова через "
            f"{minutes} мин."
        )
    return _REFUSALS.get(refused.code, refused.reason)


def _refusal(request: Request, refused: service.SignInRefused, **context: Any) -> Response:
    headers = (
        {"Retry-After": str(max(1, int(refused.retry_after.total_seconds())))}
        if refused.retry_after
        else None
    )
    if _wants_json(request):
        return ProblemResponse(
            refused.status,
            "Sign-in refused",
            refused.reason,
            headers=headers,
            **instance_of(request.scope),
        )
    response = render_page(
        request, "sign_in.html", refused.status, error=refusal_words(refused), **context
    )
    if headers:
        response.headers.update(headers)
    return response


def _providers(request: Request) -> IdentityProviders:
    providers: IdentityProviders = request.app.state.identity_providers
    return providers


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _lifetime(request: Request) -> timedelta:
    return timedelta(hours=_settings(request).session_hours)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@public
async def sign_in_page(request: Request) -> Response:
    return render_page(
        request,
        "sign_in.html",
        providers=list(_providers(request).configs.values()),
        next=_safe_next(request.query_params.get("next")),
        email="",
        notice=request.query_params.get("notice"),
    )


@public
async def sign_in(request: Request) -> Response:
    """
    summary: Sign in with e-mail and password; starts a browser session (cookie).
    tags: [sign-in]
    requestBody:
      content:
        application/json:
          schema:
            type: object
            required: [email, password]
            properties: {email: {type: string}, password: {type: string}}
        application/x-www-form-urlencoded:
          schema:
            type: object
            properties: {email: {type: string}, password: {type: string}, next: {type: string}}
    responses:
      200: {description: "Signed in (JSON): the body carries the CSRF token for later requests."}
      303: {description: "Signed in (a form): on to the page asked for."}
      401:
        description: Wrong e-mail or password (a form gets the page again, saying so).
        content: &page {text/html: {schema: {type: string}}}
      403:
        description: The account is deactivated.
        content: *page
      422:
        description: The e-mail or the password is missing.
        content: *page
      429:
        description: Too many failed attempts for the account or the address (Retry-After).
        content: *page
    """
    if _wants_json(request):
        body = await request.json()
        fields = body if isinstance(body, dict) else {}
    else:
        async with request.form() as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
    email = str(fields.get("email") or "").strip()
    password = str(fields.get("password") or "")
    next_path = _safe_next(fields.get("next"))
    if not email or not password:
        missing = "email" if not email else "password"
        if _wants_json(request):
            raise InvalidInput.one(missing, "required")
        return render_page(
            request,
            "sign_in.html",
            422,
            error="Укажите эл. почту" if missing == "email" else "Укажите пароль",
            email=email,
            next=next_path,
            providers=list(_providers(request).configs.values()),
        )
    try:
        signed = await service.sign_in_with_password(
            request.app.state.database,
            email,
            password,
            ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
            lifetime=_lifetime(request),
        )
    except service.SignInRefused as refused:
        return _refusal(
            request,
            refused,
            email=email,
            next=next_path,
            providers=list(_providers(request).configs.values()),
        )
    _begin_session(request, signed)
    if _wants_json(request):
        return JSONResponse(
            {"email": signed.email, "name": signed.name, "csrf_token": request.session["csrf"]}
        )
    landing = await _landing(request.app.state.database, signed, next_path)
    return RedirectResponse(landing, status_code=303)


@public
async def sign_out(request: Request) -> Response:
    """
    summary: End the browser session (and the provider's, where it offers RP-initiated logout).
    tags: [sign-in]
    responses:
      200: {description: Signed out; logout_url is where to end the provider's session.}
    """
    cookie = request.session.get("sid")
    signed_out = await service.sign_out(request.app.state.database, cookie) if cookie else None
    request.session.clear()
    logout_url = None
    if signed_out is not None and signed_out.provider is not None:
        logout_url = await _providers(request).logout_url(
            signed_out.provider,
            id_token=signed_out.id_token,
            post_logout_redirect_uri=f"{_settings(request).base_url}/auth/signed-out",
        )
    if _wants_json(request):
        return JSONResponse({"signed_out": True, "logout_url": logout_url})
    return RedirectResponse(logout_url or "/auth/signed-out", status_code=303)


@public
async def signed_out_page(request: Request) -> Response:
    return render_page(
        request, "notice.html", title="Вы вышли", text="Сеанс завершён.", link="/auth/sign-in"
    )


@signed_in
async def account_page(request: Request) -> Response:
    principal: Principal = request.user
    if principal.user_id is None:
        return RedirectResponse("/auth/sign-in", status_code=303)
    me = await staff.me(request.app.state.database, principal.user_id)
    return render_page(request, "account.html", me=me)


# --- single sign-on ------------------------------------------------------------------------


@public
async def provider_start(request: Request) -> Response:
    name = request.path_params["name"]
    request.session["next"] = _safe_next(request.query_params.get("next"))
    redirect_uri = f"{_settings(request).base_url}/auth/providers/{name}/callback"
    try:
        return await _providers(request).start(request, name, redirect_uri)
    except ProviderRefused as exc:
        return _provider_failure(request, name, exc)


@public
async def provider_callback(request: Request) -> Response:
    name = request.path_params["name"]
    providers = _providers(request)
    try:
        identity = await providers.finish(request, name)
    except ProviderRefused as exc:
        return _provider_failure(request, name, exc)
    next_path = _safe_next(request.session.get("next"))
    try:
        signed = await service.sign_in_with_provider(
            request.app.state.database,
            identity,
            citizens=providers.configs[name].citizens,
            ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
            lifetime=_lifetime(request),
        )
    except service.SignInRefused as refused:
        return render_page(
            request,
            "notice.html",
            refused.status,
            title="Вход не выполнен",
            text=refusal_words(refused),
        )
    _begin_session(request, signed)
    landing = await _landing(request.app.state.database, signed, next_path)
    return RedirectResponse(landing, status_code=303)


def _provider_failure(request: Request, name: str, exc: ProviderRefused) -> Response:
    status = 502 if isinstance(exc, ProviderUnavailable) else 401
    service.log_refused_provider_sign_in(name, str(exc), _client_ip(request))
    return render_page(request, "notice.html", status, title="Вход не выполнен", text=str(exc))


# --- password reset and invitations --------------------------------------------------------


@public
async def reset_request_page(request: Request) -> Response:
    return render_page(request, "reset_request.html")


@public
async def reset_request(request: Request) -> Response:
    async with request.form() as form:
        email = str(form.get("email") or "").strip()
    if not email:
        return render_page(request, "reset_request.html", 422, error="email: required")
    await service.request_password_reset(
        request.app.state.database, email, base_url=_settings(request).base_url
    )
    return render_page(
        request,
        "notice.html",
        title="Проверьте почту",
        text="Если такая учётная запись есть, на неё отправлена ссылка для смены пароля. "
        "Ссылка действует один час.",
    )


def _link_endpoints(purpose: LinkPurpose) -> tuple[Any, Any]:
    @public
    async def show(request: Request) -> Response:
        db: Database = request.app.state.database
        try:
            email = await service.check_link(db, request.path_params["link"], purpose)
        except InvalidInput as exc:
            return render_page(
                request,
                "set_password.html",
                410,
                purpose=purpose.value,
                usable=False,
                error=exc.errors[0].message,
            )
        return render_page(
            request, "set_password.html", purpose=purpose.value, usable=True, email=email
        )

    @public
    async def submit(request: Request) -> Response:
        db: Database = request.app.state.database
        async with request.form() as form:
            password = str(form.get("password") or "")
            confirmation = str(form.get("confirmation") or "")
        try:
            await service.set_password_with_link(
                db, request.path_params["link"], purpose, password, confirmation
            )
        except InvalidInput as exc:
            link_dead = any(e.field == "link" for e in exc.errors)
            return render_page(
                request,
                "set_password.html",
                410 if link_dead else 422,
                purpose=purpose.value,
                usable=not link_dead,
                error=exc.errors[0].message if link_dead else None,
                problems=[f"{e.message}" for e in exc.errors if e.field != "link"],
            )
        request.session.clear()
        return RedirectResponse(
            "/auth/sign-in?notice=Пароль+сохранён:+войдите+с+ним", status_code=303
        )

    return show, submit


show_reset, submit_reset = _link_endpoints(LinkPurpose.RESET)
show_invitation, submit_invitation = _link_endpoints(LinkPurpose.INVITATION)


routes = [
    Route("/auth/sign-in", sign_in_page, methods=["GET"]),
    Route("/auth/sign-in", sign_in, methods=["POST"]),
    Route("/auth/sign-out", sign_out, methods=["POST"]),
    Route("/auth/signed-out", signed_out_page, methods=["GET"]),
    Route("/auth/account", account_page, methods=["GET"]),
    Route("/auth/providers/{name}", provider_start, methods=["GET"]),
    Route("/auth/providers/{name}/callback", provider_callback, methods=["GET"]),
    Route("/auth/reset", reset_request_page, methods=["GET"]),
    Route("/auth/reset", reset_request, methods=["POST"]),
    Route("/auth/reset/{link}", show_reset, methods=["GET"]),
    Route("/auth/reset/{link}", submit_reset, methods=["POST"]),
    Route("/auth/invitation/{link}", show_invitation, methods=["GET"]),
    Route("/auth/invitation/{link}", submit_invitation, methods=["POST"]),
]
