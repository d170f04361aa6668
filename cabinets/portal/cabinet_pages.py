"""The citizen's cabinet ``/my``: every message with its status, each opening its timeline
with the answer, files and the clarification and rating forms; the notifications they choose;
their personal data. And the one-click unsubscribe link of every letter, which needs no
sign-in."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.messages import pages as message_pages
from cabinets.messages import tracking
from cabinets.messages.files import tracked_file_link
from cabinets.notifications import choices
from cabinets.notifications.unsubscribe import address_of
from cabinets.portal import personal_data
from cabinets.portal.header import citizen_header
from cabinets.portal.wording import form_errors
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_signed_in, person
from cabinets.web.rendering import private_page, refusal_page, render_page
from rbac.access import public
from tenancy.accounts.models import Channel, NotificationChoice
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.settings import Settings

WITHDRAW_WORD = "yes"


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _me(request: Request) -> uuid.UUID:
    principal = person(request)
    assert principal is not None
    assert principal.user_id is not None
    return principal.user_id


@page_signed_in
async def my_messages(request: Request) -> Response:
    listed = await tracking.citizen_messages(_db(request), _me(request))
    return private_page(
        request,
        "portal/my.html",
        messages=listed,
        workplace=citizen_header(request),
        notice=request.query_params.get("notice"),
    )


@page_signed_in
async def my_message(request: Request) -> Response:
    return await message_pages.status_response(request, "", owner=_me(request))


@page_signed_in
async def my_clarification(request: Request) -> Response:
    return await message_pages.clarification(request, owner=_me(request))


@page_signed_in
async def my_rating(request: Request) -> Response:
    return await message_pages.rating(request, owner=_me(request))


@page_signed_in
async def my_file(request: Request) -> Response:
    try:
        file_id = uuid.UUID(request.path_params["file_id"])
    except ValueError:
        return refusal_page(request, 404)
    link = await tracked_file_link(
        _db(request),
        request.app.state.store,
        request.path_params["number"],
        "",
        file_id,
        citizen_id=_me(request),
    )
    return RedirectResponse(link, status_code=303)


# --- notifications ---------------------------------------------------------------------------


async def _notifications_page(
    request: Request,
    address: str,
    *,
    token: str | None = None,
    status: int = 200,
    errors: FormErrors | None = None,
) -> Response:
    chosen = await choices.choices_of(_db(request), address)
    context = {} if token else {"workplace": citizen_header(request)}
    return private_page(
        request,
        "portal/notifications.html",
        status,
        chosen=chosen,
        address=address,
        token=token,
        channels=choices.CHANNEL_LABELS,
        options=[(c.value, label) for c, label in choices.CHOICE_LABELS.items()],
        errors=errors,
        notice=request.query_params.get("notice"),
        **context,
    )


def _chosen(value: object) -> NotificationChoice | None:
    try:
        return NotificationChoice(str(value))
    except ValueError:
        return None


@page_signed_in
async def my_notifications(request: Request) -> Response:
    profile = await personal_data.profile_of(_db(request), _me(request))
    return await _notifications_page(request, profile.email)


@page_signed_in
async def choose_notifications(request: Request) -> Response:
    profile = await personal_data.profile_of(_db(request), _me(request))
    async with request.form() as form:
        choice = _chosen(form.get("email"))
    if choice is None:
        errors = FormErrors.one("email", "Электронная почта", "выберите, о чём писать")
        return await _notifications_page(request, profile.email, status=422, errors=errors)
    await choices.choose(_db(request), profile.email, Channel.EMAIL, choice)
    return RedirectResponse(
        "/my/notifications?notice=Настройки+уведомлений+сохранены", status_code=303
    )


def _unsubscribing(request: Request) -> str | None:
    settings: Settings = request.app.state.settings
    if not settings.secret_key:
        return None
    return address_of(settings.secret_key, request.path_params["token"])


def _bad_unsubscribe_link(request: Request) -> Response:
    return private_page(
        request,
        "notice.html",
        404,
        title="Ссылка не действует",
        text="Скопируйте ссылку из письма целиком или настройте уведомления в личном кабинете.",
        link="/my/notifications",
        link_text="Настройки уведомлений",
    )


@public
async def unsubscribe_page(request: Request) -> Response:
    address = _unsubscribing(request)
    if address is None:
        return _bad_unsubscribe_link(request)
    return await _notifications_page(request, address, token=request.path_params["token"])


@public
async def unsubscribe(request: Request) -> Response:
    """
    summary: One-click unsubscribe (RFC 8058), the link in every letter; or the page's choice.
    description: A mail program posts List-Unsubscribe=One-Click, with no session or CSRF
      token (the signed token in the path names the address), and letters stop. The page's
      form posts email=every_stage, answers or none.
    tags: [notifications]
    responses:
      200: {description: "A page saying what was chosen."}
      404: {description: "A token not made here."}
    """
    address = _unsubscribing(request)
    if address is None:
        return _bad_unsubscribe_link(request)
    async with request.form() as form:
        choice = _chosen(form.get("email")) or NotificationChoice.NONE
    await choices.choose(_db(request), address, Channel.EMAIL, choice)
    notice = (
        "Письма больше не придут"
        if choice is NotificationChoice.NONE
        else ("Настройки уведомлений сохранены")
    )
    return private_page(
        request,
        "notice.html",
        title=notice,
        text=f"Адрес {address}: {choices.CHOICE_LABELS[choice].lower()}.",
        link=f"/unsubscribe/{request.path_params['token']}",
        link_text="Изменить выбор",
    )


# --- personal data ---------------------------------------------------------------------------


async def _data_page(
    request: Request,
    status: int = 200,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    record = await personal_data.personal_record(_db(request), _me(request))
    shown = (
        values
        if values is not None
        else {name: getattr(record.profile, name) or "" for name in personal_data.PROFILE_FIELDS}
    )
    return private_page(
        request,
        "portal/personal_data.html",
        status,
        record=record,
        values=shown,
        errors=errors,
        labels=choices.CHOICE_LABELS,
        workplace=citizen_header(request),
        notice=request.query_params.get("notice"),
    )


@page_signed_in
async def my_data(request: Request) -> Response:
    return await _data_page(request)


@page_signed_in
async def correct_data(request: Request) -> Response:
    async with request.form() as form:
        values = {n: str(form.get(n) or "") for n in personal_data.PROFILE_FIELDS}
    try:
        await personal_data.update_profile(_db(request), _me(request), values)
    except InvalidInput as exc:
        return await _data_page(request, 422, values=values, errors=form_errors(exc))
    return RedirectResponse("/my/data?notice=Данные+исправлены", status_code=303)


@page_signed_in
async def withdraw(request: Request) -> Response:
    async with request.form() as form:
        sure = form.get("sure") == WITHDRAW_WORD
    if not sure:
        errors = FormErrors.one(
            "sure", "Отзыв согласия", "отметьте, что понимаете: учётная запись будет закрыта"
        )
        return await _data_page(request, 422, errors=errors)
    still_open = await personal_data.withdraw_consent(
        _db(request), _me(request), ip=request.client.host if request.client else None
    )
    request.session.clear()
    text = "Учётная запись закрыта, вход и уведомления прекращены, данные профиля удалены."
    if still_open:
        text += (
            f" Открытых обращений: {still_open}. Они останутся в организациях, которые обязаны "
            "на них ответить (закон № 59-ФЗ); ответ придёт, как вы просили в обращении."
        )
    return render_page(
        request,
        "notice.html",
        title="Согласие отозвано",
        text=text,
        link="/",
        link_text="На главную",
    )


routes = [
    Route("/my", my_messages, methods=["GET"]),
    Route("/my/messages/{number}", my_message, methods=["GET"]),
    Route("/my/messages/{number}/clarification", my_clarification, methods=["POST"]),
    Route("/my/messages/{number}/rating", my_rating, methods=["POST"]),
    Route("/my/messages/{number}/files/{file_id}", my_file, methods=["GET"]),
    Route("/my/notifications", my_notifications, methods=["GET"]),
    Route("/my/notifications", choose_notifications, methods=["POST"]),
    Route("/my/data", my_data, methods=["GET"]),
    Route("/my/data", correct_data, methods=["POST"]),
    Route("/my/data/withdrawal", withdraw, methods=["POST"]),
    Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"], include_in_schema=False),
    Route("/unsubscribe/{token}", unsubscribe, methods=["POST"], include_in_schema=False),
]
