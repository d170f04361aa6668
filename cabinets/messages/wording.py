"""Problems with what a citizen sent, worded in Russian for the citizen's pages.

Services name each problem's field and kind (``FieldError.code``, ``RejectionReason``) and
explain it in English for programs; these pages speak to people. A kind without a Russian
wording here falls back to the service's own message, so nothing goes unsaid."""

from __future__ import annotations

from collections.abc import Mapping

from storage.errors import AttachmentRejected, RejectionReason
from storage.validation import MiB
from tenancy.errors import FieldError, TooManyRequests

# The form's own labels (write.html), so that a problem points at what the citizen sees.
FIELD_LABELS = {
    "topic": "Тема",
    "territory": "Территория",
    "address": "Адрес",
    "latitude": "Место на карте",
    "longitude": "Место на карте",
    "summary": "Кратко, в чём проблема",
    "text": "Текст обращения",
    "applicant": "Кто пишет",
    "applicant.name": "Имя",
    "applicant.email": "Эл. почта",
    "applicant.phone": "Телефон",
    "applicant.organization": "Организация",
    "applicant.inn": "ИНН организации",
    "consent": "Согласие на обработку персональных данных",
    "attachments": "Фотографии и документы",
    "files": "Фотографии и документы",
}

_BY_CODE = {
    "missing": "заполните",
    "blank": "заполните",
    "string_too_short": "заполните",
    "string_too_long": "слишком длинно: не больше {limit} знаков",
    "string_pattern_mismatch": "проверьте: так не пишут",
    "email": "это не адрес электронной почты",
    "consent_required": "без согласия обращение не может быть рассмотрено",
    "contact_required": "укажите эл. почту или телефон: туда придёт ответ",
    "organization_required": "укажите организацию, от имени которой пишете",
    "inn": "ИНН неверный: 10 цифр у организации, 12 у предпринимателя, с верной контрольной цифрой",
    "address_required": "по этой теме нужен адрес",
    "coordinates_pair": "укажите и широту, и долготу",
    "photo_required": "по этой теме нужна фотография проблемы",
    "too_many_files": "не больше {limit} файлов в обращении",
    "files_not_taken_here": "здесь пока некому принять файлы: отправьте обращение без них",
    "unknown_upload": "файл не найден: приложите его ещё раз",
    "unconfirmed_upload": "файл не загрузился до конца: приложите его ещё раз",
    "attached": "этот файл уже приложен к другому обращению",
    "not_asked": "по этой теме такого вопроса нет",
    "number_type": "нужно число",
    "float_parsing": "нужно число",
    "string_type": "нужен текст",
    "date_parsing": "нужна дата",
    "choice": "выберите из предложенного",
    "greater_than_equal": "не меньше {limit}",
    "less_than_equal": "не больше {limit}",
    "extended_once": "срок уже продлевали, а продлить его можно только один раз",
    "int_parsing": "нужно целое число",
    "uuid_parsing": "выберите из предложенного",
}

_REJECTIONS = {
    RejectionReason.EMPTY: "файл пустой",
    RejectionReason.TOO_LARGE: "файл больше {limit_mb} МБ",
    RejectionReason.TOO_MANY_FILES: "не больше {limit} файлов в обращении",
    RejectionReason.FORBIDDEN_TYPE: (
        "такие файлы не принимаются: подойдут фотографии (JPEG, PNG, HEIC), PDF, DOCX, ODT и текст"
    ),
    RejectionReason.DAMAGED: "файл повреждён или не читается",
    RejectionReason.BAD_FILE_NAME: (
        "имя файла не подходит: без «/», «\\» и служебных знаков, не длиннее 255 знаков"
    ),
    RejectionReason.SIZE_MISMATCH: "файл загрузился не полностью: приложите его ещё раз",
    RejectionReason.INFECTED: "в файле найден вирус: он не принят",
}


def problem_wording(error: FieldError) -> str:
    """What to do about one problem, in Russian when its kind is known here."""
    wording = _BY_CODE.get(error.code or "")
    if wording is None or ("{limit}" in wording and error.limit is None):
        return error.message
    return wording.format(limit=_number(error.limit))


def problem_text(error: FieldError, labels: Mapping[str, str] = FIELD_LABELS) -> str:
    """``Label: what to do``."""
    field = error.field.split("[", 1)[0]  # attachments[2] is about the files
    label = labels.get(field) or FIELD_LABELS.get(field) or error.field
    return f"{label}: {problem_wording(error)}"


def rejection_text(rejection: AttachmentRejected) -> str:
    """What is wrong with one file, naming it."""
    limit = rejection.limit
    wording = _REJECTIONS.get(rejection.reason)
    if wording is None or ("limit" in wording and limit is None):
        return str(rejection)
    text = wording.format(limit=limit, limit_mb=_number((limit or 0) / MiB))
    return f"«{rejection.filename}»: {text}" if rejection.filename else text


def flood_text(refusal: TooManyRequests) -> str:
    minutes = max(1, refusal.retry_after // 60)
    return f"Слишком много обращений подряд: попробуйте снова через {minutes} мин."


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
