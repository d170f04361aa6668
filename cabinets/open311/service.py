"""Open311 GeoReport v2 over the same intake: city apps and aggregators list the topics of a
territory (services), read a topic's extra questions (attributes), file a message (a service
request) and follow it. Everything goes through ``submit_message`` and the tracking timeline,
so routing, limits, files and privacy are those of every other channel.

Where this differs from the specification, the field requires it:

* ``jurisdiction_id`` is the territory's OKTMO code, and is required: which topics exist and
  who answers depend on it;
* ``consent=true`` is required: the law asks for the applicant's consent to the processing of
  personal data, and the specification has no parameter for it;
* files come as multipart ``media`` parts, checked like any upload; ``media_url`` is refused,
  since fetching a caller's URL would let anyone make this server fetch anything;
* following a request needs the ``token`` returned when it was filed: an appeal is private,
  and without the token ``GET requests/{id}`` answers 404 as for a wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cabinets.messages import tracking
from cabinets.messages.schemas import MAX_SUMMARY, typed_answers
from cabinets.messages.workflow import Status
from cabinets.responsible import published_topic
from tenancy.catalog import service as catalog
from tenancy.catalog.schemas import ExtraField, FieldType
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.routing.resolver import RoutingIndex

DATATYPES = {
    FieldType.STRING: "string",
    FieldType.NUMBER: "number",
    FieldType.DATE: "datetime",
    FieldType.SINGLE: "singlevaluelist",
    FieldType.MULTI: "multivaluelist",
}
# A request is closed once the organization has nothing more to do with it.
FINISHED = frozenset(
    str(s) for s in (Status.ANSWERED, Status.CLOSED, Status.REJECTED, Status.MERGED)
)
# Our fields, as the Open311 parameters that fill them (for errors that name what was sent).
PARAMETERS = {
    "topic": "service_code",
    "territory": "jurisdiction_id",
    "address": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "summary": "description",
    "text": "description",
    "applicant": "first_name",
    "applicant.name": "first_name",
    "applicant.email": "email",
    "applicant.phone": "phone",
    "attachments": "media",
}


async def list_services(db: Database, jurisdiction: str | None) -> list[dict[str, Any]]:
    """The topics valid on the territory, as services."""
    topics = await catalog.list_topics(db, territory=_jurisdiction(jurisdiction))
    return [
        {
            "service_code": t["code"],
            "service_name": t["title"],
            "description": t["description"],
            "metadata": bool(t["fields"]),
            "type": "realtime",
            "keywords": ",".join(t["keywords"]),
            "group": t["category_code"],
        }
        for t in topics
    ]


async def describe_service(db: Database, jurisdiction: str | None, code: str) -> dict[str, Any]:
    """A topic's extra questions, as the service's attributes."""
    topic = await _topic(db, _jurisdiction(jurisdiction), code)
    if topic is None:
        raise NotFound("service", code)
    questions = [ExtraField.model_validate(q) for q in topic["fields"]]
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": q.code,
                "datatype": DATATYPES[q.type],
                "required": q.required,
                "datatype_description": "",
                "order": order,
                "description": q.title,
            }
            | ({"values": [{"key": c, "name": c} for c in q.choices]} if q.choices else {})
            for order, q in enumerate(questions, start=1)
        ],
    }


async def _topic(db: Database, territory: str, code: str) -> dict[str, Any] | None:
    topics = await catalog.list_topics(db, territory=territory)
    return next((t for t in topics if t["code"] == code), None)


def _jurisdiction(value: str | None) -> str:
    if not value:
        raise InvalidInput.one("territory", "required: the territory's OKTMO code", code="missing")
    return value


async def submission_of(
    db: Database,
    routes: RoutingIndex,
    params: Sequence[tuple[str, str]],
    attachments: list[dict[str, str]],
) -> dict[str, Any]:
    """A message submission from a service request's parameters (and the files already
    received from its ``media`` parts)."""
    one = {k: v.strip() for k, v in reversed(params)}  # the first of each name
    if one.get("media_url"):
        raise InvalidInput.one(
            "media_url", "is not taken: send the files as multipart media parts", code="media_url"
        )
    territory = _jurisdiction(one.get("jurisdiction_id"))
    if territory not in routes.parents:
        raise InvalidInput.one("territory", f"unknown territory {territory}", code="unknown")
    code = one.get("service_code", "")
    if code not in routes.topic_category or not routes.visible(code, territory):
        raise InvalidInput.one(
            "topic", f"{code!r} is not a service of this jurisdiction", code="unknown"
        )
    # The routing index's memo, as intake reads it: no catalog read per request.
    topic = await published_topic(db, routes, code)
    description = one.get("description", "")
    name = " ".join(n for n in (one.get("first_name"), one.get("last_name")) if n)
    contact = {"name": name, "email": one.get("email"), "phone": one.get("phone")}
    applicant = {k: v for k, v in contact.items() if v}
    return {
        "topic": topic.code,
        "territory": territory,
        "address": one.get("address_string") or None,
        "latitude": one.get("lat") or None,
        "longitude": one.get("long") or None,
        "summary": _summary(description),
        "text": description,
        "applicant": applicant or None,
        "consent": one.get("consent") == "true",
        "fields": typed_answers(topic.fields, _attributes(params)),
        "attachments": attachments,
    }


def _attributes(params: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` (several values) by code."""
    found: dict[str, list[str]] = {}
    for key, value in params:
        if key.startswith("attribute[") and key.endswith("]"):
            code = key.removeprefix("attribute[").removesuffix("[]").removesuffix("]")
            found.setdefault(code, []).append(value)
    return found


def _summary(description: str) -> str:
    """Open311 has no title: the description's first line stands for it."""
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first if len(first) <= MAX_SUMMARY else first[: MAX_SUMMARY - 1].rstrip() + "…"


def open311_errors(errors: Sequence[FieldError]) -> list[str]:
    """Each problem naming the Open311 parameter that carried the field."""
    described = []
    for error in errors:
        field = error.field.split("[", 1)[0]
        if field.startswith("fields."):
            parameter = f"attribute[{field.removeprefix('fields.')}]"
        else:
            parameter = PARAMETERS.get(field, field)
        described.append(f"{parameter}: {error.message}")
    return described


async def request_status(db: Database, number: str, token: str) -> dict[str, Any]:
    """A filed request as its holder (the token) may see it."""
    found = await tracking.timeline(db, number, token)
    titles = {t["code"]: t["title"] for t in await catalog.list_topics(db)}
    return {
        "service_request_id": found.number,
        "status": "closed" if found.status in FINISHED else "open",  # queued is open
        "status_notes": found.status_label,
        "service_code": found.topic,
        "service_name": titles.get(found.topic, found.topic),
        "description": found.summary,
        "agency_responsible": found.organization,
        "requested_datetime": found.received_at.isoformat(),
        "updated_datetime": (
            found.entries[-1].at if found.entries else found.received_at
        ).isoformat(),
        "expected_datetime": found.due_at.isoformat() if found.due_at else None,
    }
