"""The HTML an organization puts on its own site for its «Сообщить о проблеме» button (the
script ``/widget/SLUG.js`` and a ``<noscript>`` link to its form), with what decides whether
the button works: the organization takes messages, and its form has places to offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.routing.resolver import RoutingIndex
from tenancy.tenants import service as tenants

WIDGET_LABEL = "Сообщить о проблеме"
MAX_LABEL = 60


@dataclass(frozen=True)
class WidgetSnippet:
    slug: str
    label: str
    html: str
    script_path: str  # on this site, for a preview
    form_url: str
    active: bool  # the organization takes messages (otherwise the script answers 404)
    places: int  # where its form offers to write about


def snippet_html(base_url: str, slug: str, label: str) -> str:
    to = quote(slug)
    custom = f' data-label="{escape(label)}"' if label != WIDGET_LABEL else ""
    return (
        f'<script src="{base_url}/widget/{to}.js"{custom} async></script>\n'
        f'<noscript><a href="{base_url}/write?to={to}">{escape(label)}</a></noscript>'
    )


async def organization_widget(
    db: Database, routes: RoutingIndex, slug: str, *, base_url: str, label: str = ""
) -> WidgetSnippet:
    """The snippet with ``label`` on the button (the usual words when it is blank)."""
    label = " ".join(label.split()) or WIDGET_LABEL
    if len(label) > MAX_LABEL:
        raise InvalidInput(
            [
                FieldError(
                    "label",
                    f"at most {MAX_LABEL} characters",
                    code="string_too_long",
                    limit=MAX_LABEL,
                )
            ]
        )
    found = await tenants.get_tenant(db, slug)
    places = routes.places_of(slug, datetime.now(UTC).date())
    return WidgetSnippet(
        slug=slug,
        label=label,
        html=snippet_html(base_url, slug, label),
        script_path=f"/widget/{quote(slug)}.js",
        form_url=f"{base_url}/write?to={quote(slug)}",
        active=found.status == "active",
        places=len(places),
    )
