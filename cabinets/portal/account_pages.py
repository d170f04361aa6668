"""Signing up as a citizen and confirming the address. The answer to a sign-up is the same
whether the address was free or taken (the letter tells the difference, to the address's
owner only); the confirmation link asks for a button press, so that a mail scanner opening
links does not use it up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.portal.wording import form_errors, wording
from cabinets.web.rendering import private_page, render_page
from rbac.access import public
from tenancy.accounts import citizens
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.settings import Settings

CHECK_MAIL = (
    "Мы отправили письмо на {email}. Откройте ссылку из него, чтобы подтвердить адрес и "
    "войти. Ссылка действует двое суток. Если письма нет, проверьте папку «Спам»."
)


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


@public
async def sign_up_page(request: Request) -> Response:
    return render_page(request, "portal/sign_up.html", values={})


@public
async def sign_up(request: Request) -> Response:
    async with request.form() as form:
        values = {k: str(form.get(k) or "") for k in ("email", "name", "password", "confirmation")}
    settings: Settings = request.app.state.settings
    try:
        await citizens.sign_up(
            _db(request),
            values["email"].strip(),
            values["name"],
            values["password"],
            values["confirmation"],
            base_url=settings.base_url,
        )
    except InvalidInput as exc:
        kept = {"email": values["email"], "name": values["name"]}
        return render_page(
            request, "portal/sign_up.html", 422, values=kept, errors=form_errors(exc)
        )
    return render_page(
        request,
        "notice.html",
        title="Проверьте почту",
        text=CHECK_MAIL.format(email=values["email"].strip().lower()),
        link="/auth/sign-in",
        link_text="Ко входу",
    )


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:] + "."


async def _dead_link(request: Request, exc: InvalidInput) -> Response:
    return private_page(
        request,
        "notice.html",
        410,
        title="Ссылка не действует",
        text=_sentence(wording(exc.errors[0])),
        link="/auth/sign-in",
        link_text="Ко входу",
        view_back="/",
    )


@public
async def confirmation_page(request: Request) -> Response:
    link = request.path_params["link"]
    try:
        email = await citizens.check_confirmation(_db(request), link)
    except InvalidInput as exc:
        return await _dead_link(request, exc)
    return private_page(request, "portal/confirm.html", link=link, email=email, view_back="/")


@public
async def confirm(request: Request) -> Response:
    try:
        email, claimed = await citizens.confirm_address(_db(request), request.path_params["link"])
    except InvalidInput as exc:
        return await _dead_link(request, exc)
    text = "Адрес подтверждён: войдите с вашим паролем."
    if claimed:
        text += (
            f" Обращения, написанные раньше с адреса {email}, теперь в вашем кабинете: {claimed}."
        )
    return private_page(
        request,
        "notice.html",
        title="Адрес подтверждён",
        text=text,
        link="/auth/sign-in?next=/my",
        link_text="Войти",
        view_back="/",
    )


routes = [
    Route("/auth/sign-up", sign_up_page, methods=["GET"]),
    Route("/auth/sign-up", sign_up, methods=["POST"]),
    Route("/auth/confirm/{link}", confirmation_page, methods=["GET"]),
    Route("/auth/confirm/{link}", confirm, methods=["POST"]),
]
