"""The topic catalog's pages: the tree with search, a topic edited in the draft (with its
extra questions and a preview of how the citizen's form asks them), what publishing would
change, publishing with a confirmation that says so, and the versions published so far."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.operator.desk import actor, back, database, operator_id, operator_page
from cabinets.operator.wording import LABELS, russian
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from tenancy.catalog import draft
from tenancy.catalog import service as catalog
from tenancy.catalog.schemas import FieldType, TopicRow
from tenancy.errors import FieldError, InvalidInput, field_errors

QUESTION_TYPES = [
    (FieldType.STRING.value, "Текст"),
    (FieldType.NUMBER.value, "Число"),
    (FieldType.DATE.value, "Дата"),
    (FieldType.SINGLE.value, "Один вариант из списка"),
    (FieldType.MULTI.value, "Несколько вариантов из списка"),
]
QUESTION_LABELS = {
    "code": "код",
    "title": "вопрос",
    "type": "тип ответа",
    "choices": "варианты ответа",
    "required": "обязательный",
}
TOPIC_FIELDS = (
    "code",
    "category",
    "title",
    "description",
    "keywords",
    "deadline_days",
    "calendar",
    "moderation_days",
    "registration_days",
    "region",
)
FLAGS = ("photo_required", "address_required", "active")
MAX_QUESTIONS = 50


@page_requires("catalog:edit", tenant_param=None)
async def catalog_page(request: Request) -> Response:
    search = request.query_params.get("q") or ""
    db = database(request)
    return await operator_page(
        request,
        "catalog.html",
        tree=await draft.catalog_tree(db, search=search),
        search=search,
        versions=await draft.versions(db),
    )


def _from_stored(topic: dict[str, Any]) -> dict[str, Any]:
    """A stored topic as the form shows it."""
    return {
        "code": topic["code"],
        "category": topic["category_code"],
        "title": topic["title"],
        "description": topic["description"],
        "keywords": "; ".join(topic["keywords"]),
        "deadline_days": topic["deadline_days"],
        "calendar": topic["calendar"],
        "moderation_days": topic["moderation_days"],
        "registration_days": topic["registration_days"],
        "region": topic["region_code"] or "",
        "photo_required": topic["photo_required"],
        "address_required": topic["address_required"],
        "active": topic["active"],
        "fields": [
            {**f, "choices": "\n".join(f.get("choices", []))} for f in (topic["fields"] or [])
        ],
    }


BLANK = {
    "code": "",
    "category": "",
    "title": "",
    "description": "",
    "keywords": "",
    "deadline_days": 30,
    "calendar": "calendar",
    "moderation_days": 1,
    "registration_days": 3,
    "region": "",
    "photo_required": False,
    "address_required": False,
    "active": True,
    "fields": [],
}
BLANK_QUESTION = {"code": "", "title": "", "type": "string", "choices": "", "required": False}


def _from_form(form: FormData) -> tuple[dict[str, Any], str]:
    """The form as typed (questions in the order asked for, removed ones dropped), and the
    action: save, or add a question."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in TOPIC_FIELDS}
    values.update({k: form.get(k) == "yes" for k in FLAGS})
    questions = []
    asked = str(form.get("questions") or "0")
    for i in range(min(int(asked), MAX_QUESTIONS) if asked.isdigit() else 0):
        if form.get(f"fields.{i}.remove") == "yes":
            continue
        order = str(form.get(f"fields.{i}.order") or i + 1)
        questions.append(
            (
                int(order) if order.lstrip("-").isdigit() else i + 1,
                i,
                {
                    "code": str(form.get(f"fields.{i}.code") or "").strip(),
                    "title": str(form.get(f"fields.{i}.title") or "").strip(),
                    "type": str(form.get(f"fields.{i}.type") or "string"),
                    "choices": str(form.get(f"fields.{i}.choices") or ""),
                    "required": form.get(f"fields.{i}.required") == "yes",
                },
            )
        )
    values["fields"] = [q for _, _, q in sorted(questions, key=lambda q: (q[0], q[1]))]
    do = str(form.get("do") or "save")
    if do == "add-question":
        values["fields"].append(dict(BLANK_QUESTION))
    return values, do


def _row(values: dict[str, Any]) -> TopicRow:
    data = {k: v for k, v in values.items() if v != "" and k != "fields"}
    if "keywords" in data:
        data["keywords"] = data["keywords"].replace(",", ";")
    data["fields"] = [
        {
            "code": q["code"],
            "title": q["title"],
            "type": q["type"],
            "required": q["required"],
            "choices": [c.strip() for c in q["choices"].splitlines() if c.strip()],
        }
        for q in values["fields"]
    ]
    return TopicRow.model_validate(data)


def _labels(values: dict[str, Any]) -> dict[str, str]:
    labels = dict(LABELS)
    for i in range(len(values["fields"])):
        for key, label in QUESTION_LABELS.items():
            labels[f"fields.{i}.{key}"] = f"Вопрос {i + 1}, {label}"
        labels[f"fields.{i}"] = f"Вопрос {i + 1}"
    return labels


def _errors(exc: ValidationError | InvalidInput, values: dict[str, Any]) -> FormErrors:
    errors = field_errors(exc) if isinstance(exc, ValidationError) else exc.errors
    # A question's own problem (choices for the wrong type) is shown at its choices.
    placed = [
        FieldError(f"{e.field}.choices", e.message, code=e.code)
        if e.field.startswith("fields.") and e.field.count(".") == 1
        else e
        for e in errors
    ]
    return FormErrors.of(russian(placed), _labels(values))


async def _form_page(
    request: Request,
    values: dict[str, Any],
    *,
    revision: int | None,
    status: int = 200,
    errors: FormErrors | None = None,
) -> Response:
    return await operator_page(
        request,
        "topic.html",
        status,
        topic=values,
        revision=revision,
        categories=await draft.categories(database(request)),
        types=QUESTION_TYPES,
        errors=errors or FormErrors(),
    )


@page_requires("catalog:edit", tenant_param=None)
async def new_topic_page(request: Request) -> Response:
    values = dict(BLANK, category=request.query_params.get("category") or "")
    return await _form_page(request, values, revision=None)


@page_requires("catalog:edit", tenant_param=None)
async def topic_page(request: Request) -> Response:
    stored = await draft.draft_topic(database(request), request.path_params["code"])
    return await _form_page(request, _from_stored(stored), revision=stored["revision"])


async def _save(request: Request, revision: int | None, values: dict[str, Any]) -> Response:
    try:
        row = _row(values)
        await draft.save_topic(
            database(request),
            row,
            revision=revision,
            actor=actor(request),
            operator=operator_id(request),
        )
    except (ValidationError, InvalidInput) as exc:
        return await _form_page(
            request, values, revision=revision, status=422, errors=_errors(exc, values)
        )
    verb = "добавлена в черновик" if revision is None else "сохранена в черновике"
    return back(f"/operator/catalog/topics/{row.code}", f"Тема «{row.title}» {verb}")


@page_requires("catalog:edit", tenant_param=None)
async def add_topic(request: Request) -> Response:
    async with request.form() as form:
        values, do = _from_form(form)
    if do != "save":
        return await _form_page(request, values, revision=None)
    return await _save(request, None, values)


@page_requires("catalog:edit", tenant_param=None)
async def change_topic(request: Request) -> Response:
    async with request.form() as form:
        values, do = _from_form(form)
        given = str(form.get("revision") or "")
    revision = int(given) if given.isdigit() else 0
    values["code"] = request.path_params["code"]
    if do != "save":
        return await _form_page(request, values, revision=revision)
    return await _save(request, revision, values)


async def _diff(request: Request, status: int = 200, errors: FormErrors | None = None) -> Response:
    changes = await catalog.diff_catalog(database(request))
    counts = {
        kind: sum(1 for c in changes.topics if c.change == kind)
        for kind in ("added", "changed", "removed")
    }
    return await operator_page(
        request,
        "diff.html",
        status,
        diff=changes,
        counts=counts,
        errors=errors or FormErrors(),
        labels=LABELS,
    )


@page_requires("catalog:edit", tenant_param=None)
async def diff_page(request: Request) -> Response:
    return await _diff(request)


@page_requires("catalog:edit", tenant_param=None)
async def publish(request: Request) -> Response:
    try:
        version = await catalog.publish_catalog(
            database(request),
            actor=actor(request),
            operator=operator_id(request),
            require_changes=True,
        )
    except InvalidInput as exc:
        errors = FormErrors.of(russian(exc.errors), LABELS)
        return await _diff(request, 422, errors)
    return back("/operator/catalog", f"Справочник опубликован: версия {version}")


routes = [
    Route("/operator/catalog", catalog_page, methods=["GET"]),
    Route("/operator/catalog/topics/new", new_topic_page, methods=["GET"]),
    Route("/operator/catalog/topics/new", add_topic, methods=["POST"]),
    Route("/operator/catalog/topics/{code}", topic_page, methods=["GET"]),
    Route("/operator/catalog/topics/{code}", change_topic, methods=["POST"]),
    Route("/operator/catalog/diff", diff_page, methods=["GET"]),
    Route("/operator/catalog/publish", publish, methods=["POST"]),
]
