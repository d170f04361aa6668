"""The operator's pages in Russian: field labels, the routing and catalog services' problems
(by their codes), and the route tester's verdicts."""

from __future__ import annotations

from collections.abc import Iterable

from tenancy.errors import FieldError
from tenancy.routing.resolver import Candidate, Resolution

LABELS = {
    "topic": "Тема",
    "territory": "Территория",
    "tenant": "Организация",
    "priority": "Приоритет",
    "valid_from": "Действует с",
    "valid_to": "Действует по",
    "on": "Дата",
    "code": "Код темы",
    "category": "Категория",
    "title": "Название",
    "description": "Описание",
    "keywords": "Ключевые слова",
    "deadline_days": "Срок рассмотрения, дней",
    "calendar": "Как считать дни",
    "moderation_days": "Дней на модерацию",
    "registration_days": "Дней на регистрацию",
    "region": "Регион",
    "fields": "Дополнительные вопросы",
    "draft": "Черновик",
    "revision": "Тема",
    "file": "Файл",
    "within": "Территория",
    "column": "Территория",
    "row": "Тема или категория",
}

_WORDING = {
    "unknown_topic": "такой темы или категории нет в опубликованном справочнике",
    "unknown_territory": "такой территории нет в справочнике",
    "unknown_tenant": "такой организации нет",
    "unknown_category": "такой категории нет",
    "inactive_topic": "эта тема больше не действует: сначала верните её в справочник",
    "tenant_inactive": "организация приостановлена или в архиве: она не принимает обращения",
    "outside_regions": "это вне ваших регионов",
    "overlap": (
        "пересекается по датам с правилом той же темы, территории и приоритета: "
        "измените приоритет или даты"
    ),
    "empty_draft": "в черновике нет изменений: публиковать нечего",
    "exists": "тема или категория с таким кодом уже есть",
    "choices_required": "у вопроса с выбором нужны варианты ответа, по одному в строке",
    "choices_forbidden": "варианты ответа бывают только у вопросов с выбором",
    "stale": (
        "эту тему только что изменил другой оператор: откройте её заново, чтобы увидеть "
        "его изменения"
    ),
    "region_required": "тема регионального оператора указывает свой регион",
    "not_yours": "эта тема принадлежит другому региону или федеральному справочнику",
    "period": "дата окончания раньше даты начала",
    "greater_than_equal": "не меньше {limit}",
    "less_than_equal": "не больше {limit}",
    "int_parsing": "нужно целое число",
    "date_from_datetime_parsing": "нужна дата",
    "date_parsing": "нужна дата",
    "enum": "выберите из предложенного",
    "missing": "заполните",
    "string_too_short": "заполните",
    "string_pattern_mismatch": "только латинские буквы, цифры, точка, дефис и подчёркивание",
}


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# The territory import's problems (the code of a territory is OKTMO-like digits).
TERRITORY_WORDING = {
    "string_pattern_mismatch": "код территории — от 2 до 11 цифр",
    "unknown_territory": "нет такой территории ни в справочнике, ни в файле",
    "duplicate": "этот код уже встречается в файле ({message})",
    "cycle": "территории замыкаются в круг ({message})",
    "missing_columns": "не хватает столбцов ({message}); нужны code, name, parent",
    "unknown_columns": "лишние столбцы ({message})",
    "empty_file": "файл пустой",
    "encoding": "файл не в кодировке UTF-8 или Windows-1251: сохраните его как CSV UTF-8",
    "row_length": "число значений не совпадает с числом столбцов ({message})",
    "string_too_short": "заполните",
    "string_too_long": "слишком длинно: не больше {limit} знаков",
    "missing": "заполните",
}


def russian(
    errors: Iterable[FieldError], wording: dict[str, str] | None = None
) -> list[FieldError]:
    """The same problems worded for the page (a code without wording keeps its message);
    ``wording`` adds to or overrides the common one."""
    known = _WORDING | (wording or {})
    worded = []
    for error in errors:
        text = known.get(error.code or "")
        if text is None:
            worded.append(error)
            continue
        message = text.format(limit=_number(error.limit), message=error.message)
        worded.append(FieldError(error.field, message, error.location))
    return worded


STATUS_WORDS = {"active": "работает", "suspended": "приостановлена", "archived": "в архиве"}


def verdict(candidate: Candidate, result: Resolution) -> str:
    """Why a candidate rule won or did not, in words."""
    if candidate.verdict == "winner":
        return "выбрано: самое точное действующее правило"
    if candidate.verdict.startswith("outranked"):
        winner = result.rule.id if result.rule else "?"
        return f"уступает правилу № {winner}"
    if "not valid" in candidate.verdict:
        return "пропущено: не действует на эту дату"
    status = candidate.verdict.rsplit(" ", 1)[-1]
    return f"пропущено: организация {STATUS_WORDS.get(status, status)}"
