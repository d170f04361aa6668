"""The routing table's pages: the rules of a topic, a territory or an organization with their
changes (add, priority and dates, remove), and the route tester (topic + territory + date → the
organization, with every candidate rule and its verdict)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.operator.desk import (
    actor,
    back,
    database,
    operator_id,
    operator_page,
    routing_changed,
    routing_index,
)
from cabinets.operator.wording import LABELS, STATUS_WORDS, russian, verdict
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from tenancy.errors import FieldError, InvalidInput, field_errors
from tenancy.routing import rules as rule_edits
from tenancy.routing import service
from tenancy.routing.schemas import RuleRow


def _today() -> date:
    return datetime.now(UTC).date()


def _filters(request: Request) -> dict[str, str | None]:
    query = request.query_params
    return {key: (query.get(key) or "").strip() or None for key in ("topic", "territory", "tenant")}


def _invalid(exc: InvalidInput | ValidationError) -> FormErrors:
    errors = field_errors(exc) if isinstance(exc, ValidationError) else exc.errors
    # A model-level problem (dates the wrong way round) belongs to the end date.
    placed = [
        FieldError("valid_to", e.message, code="period") if e.field == "input" else e
        for e in errors
    ]
    return FormErrors.of(russian(placed), LABELS)


async def _rules_page(
    request: Request,
    status: int = 200,
    *,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
    rule_errors: dict[int, FormErrors] | None = None,
) -> Response:
    filters = _filters(request)
    rules = []
    if any(filters.values()):
        rules = await rule_edits.rules_for(
            database(request),
            topic=filters["topic"],
            territory=filters["territory"],
            tenant=filters["tenant"],
            operator=operator_id(request),
        )
    return await operator_page(
        request,
        "rules.html",
        status,
        filters=filters,
        rules=rules,
        errors=errors or FormErrors(),
        form=form or {**filters},
        rule_errors=rule_errors or {},
        status_words=STATUS_WORDS,
    )


@page_requires("routing:edit", tenant_param=None)
async def rules_page(request: Request) -> Response:
    return await _rules_page(request)


def _rule_input(form: FormData) -> dict[str, Any]:
    return {
        key: str(form.get(key) or "").strip() or None
        for key in ("topic", "territory", "tenant", "priority", "valid_from", "valid_to")
    }


@page_requires("routing:edit", tenant_param=None)
async def add_rule(request: Request) -> Response:
    async with request.form() as form:
        given = _rule_input(form)
    try:
        row = RuleRow.model_validate({k: v for k, v in given.items() if v is not None})
        await service.add_rules(
            database(request),
            [("form", row)],
            actor=actor(request),
            source="web",
            operator=operator_id(request),
        )
    except (InvalidInput, ValidationError) as exc:
        return await _rules_page(request, 422, errors=_invalid(exc), form=given)
    routing_changed(request)
    return back(
        f"/operator/routing?topic={row.topic}&territory={row.territory}",
        f"Правило добавлено: {row.topic} на {row.territory} → {row.tenant}",
    )


def _change_input(given: dict[str, Any]) -> tuple[int, date | None, date | None]:
    """Priority and dates as typed; InvalidInput naming each that does not read."""
    problems, days = [], {}
    try:
        priority = int(given["priority"] or 0)
    except ValueError:
        priority = 0
        problems.append(FieldError("priority", "", code="int_parsing"))
    for key in ("valid_from", "valid_to"):
        try:
            days[key] = date.fromisoformat(given[key]) if given[key] else None
        except ValueError:
            days[key] = None
            problems.append(FieldError(key, "", code="date_parsing"))
    if problems:
        raise InvalidInput(problems)
    return priority, days["valid_from"], days["valid_to"]


@page_requires("routing:edit", tenant_param=None)
async def change_rule(request: Request) -> Response:
    rule_id = int(request.path_params["rule"])
    async with request.form() as form:
        given = _rule_input(form)
    try:
        priority, valid_from, valid_to = _change_input(given)
        await rule_edits.change_rule(
            database(request),
            rule_id,
            priority=priority,
            valid_from=valid_from,
            valid_to=valid_to,
            actor=actor(request),
            operator=operator_id(request),
        )
    except (InvalidInput, ValidationError) as exc:
        return await _rules_page(request, 422, rule_errors={rule_id: _invalid(exc)})
    routing_changed(request)
    return back(_listing(request), f"Правило № {rule_id} изменено")


def _listing(request: Request) -> str:
    """The list the change was made from (its filters travel in the form's address)."""
    return f"/operator/routing?{request.url.query}" if request.url.query else "/operator/routing"


@page_requires("routing:edit", tenant_param=None)
async def remove_rule(request: Request) -> Response:
    rule_id = int(request.path_params["rule"])
    removed = await rule_edits.remove_rule(
        database(request), rule_id, actor=actor(request), operator=operator_id(request)
    )
    routing_changed(request)
    return back(
        _listing(request),
        f"Правило № {rule_id} удалено: {removed.topic} на {removed.territory} → {removed.tenant}",
    )


@page_requires("routing:edit", tenant_param=None)
async def route_tester(request: Request) -> Response:
    query = request.query_params
    given = {k: (query.get(k) or "").strip() for k in ("topic", "territory", "on")}
    result, errors = None, FormErrors()
    if given["topic"] or given["territory"]:
        index = await routing_index(request)
        problems = []
        if given["topic"] not in index.topic_category:
            problems.append(FieldError("topic", "", code="unknown_topic"))
        if given["territory"] not in index.parents:
            problems.append(FieldError("territory", "", code="unknown_territory"))
        try:
            day = date.fromisoformat(given["on"]) if given["on"] else _today()
        except ValueError:
            problems.append(FieldError("on", "", code="date_parsing"))
        if problems:
            errors = FormErrors.of(russian(problems), LABELS)
        else:
            result = index.explain(given["topic"], given["territory"], day)
    return await operator_page(
        request,
        "tester.html",
        422 if errors else 200,
        given=given,
        result=result,
        errors=errors,
        verdict=verdict,
        today=_today(),
    )


routes = [
    Route("/operator/routing", rules_page, methods=["GET"]),
    Route("/operator/routing/rules", add_rule, methods=["POST"]),
    Route("/operator/routing/rules/{rule:int}", change_rule, methods=["POST"]),
    Route("/operator/routing/rules/{rule:int}/remove", remove_rule, methods=["POST"]),
    Route("/operator/routing/test", route_tester, methods=["GET"]),
]
