"""The organization's «Сообщить о проблеме» button for its own site (``tenant:settings``): the
code to paste (in a read-only field that works without script; a copy button where script
runs), the button's words, and a live preview of the real widget."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.acting import database
from cabinets.messages.widget_snippet import MAX_LABEL, WIDGET_LABEL, organization_widget
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.errors import InvalidInput
from tenancy.settings import Settings

LABELS = {"label": "Надпись на кнопке"}


@page_requires("tenant:settings")
async def widget_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    settings: Settings = request.app.state.settings
    routes = await request.app.state.routing.index()
    asked = request.query_params.get("label", "")
    errors, status = None, 200
    try:
        widget = await organization_widget(
            database(request), routes, slug, base_url=settings.base_url, label=asked
        )
    except InvalidInput as exc:
        errors, status = FormErrors.invalid(exc, LABELS), 422
        widget = await organization_widget(
            database(request), routes, slug, base_url=settings.base_url
        )
    return private_page(
        request,
        "administration/widget.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        widget=widget,
        asked=asked,
        errors=errors,
        default_label=WIDGET_LABEL,
        max_label=MAX_LABEL,
        base_url=settings.base_url,
    )


routes: list[BaseRoute] = [Route("/cabinet/{slug}/widget", widget_page, methods=["GET"])]
