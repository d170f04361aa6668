"""The Russian words of the citizen's account pages: the forms' labels and what to do about
each problem a service names by its code."""

from __future__ import annotations

from collections.abc import Mapping

from cabinets.messages.wording import problem_wording
from cabinets.web.forms import FormErrors, FormProblem
from tenancy.errors import FieldError, InvalidInput

LABELS = {
    "email": "Эл. почта",
    "name": "Имя",
    "password": "Пароль",
    "confirmation": "Пароль ещё раз",
    "q": "Название, город или ИНН",
    "number": "Номер обращения",
    "code": "Код из уведомления",
    "applicant_kind": "Кто вы",
    "phone": "Телефон",
    "postal_address": "Почтовый адрес",
    "organization": "Организация",
    "inn": "ИНН",
    "ogrn": "ОГРН",
    "link": "Ссылка",
}

_BY_CODE = {
    "weak_password": "не короче 10 знаков, не меньше четырёх разных знаков и не адрес почты",
    "differ": "пароли не совпадают",
    "phone": "так не пишут номер телефона: цифры, пробелы, скобки и «+»",
    "inn": "ИНН неверный: 10 цифр у организации, 12 у предпринимателя, с верной контрольной цифрой",
    "ogrn": "ОГРН неверный: 13 цифр (ОГРНИП — 15) с верной контрольной цифрой",
    "link_used": "ссылка уже использована: войдите с вашим паролем",
    "link_expired": "срок ссылки истёк: зарегистрируйтесь ещё раз, придёт новое письмо",
    "link_invalid": "ссылка неверна: скопируйте её из письма целиком",
}


def wording(error: FieldError) -> str:
    return _BY_CODE.get(error.code or "") or problem_wording(error)


def form_errors(exc: InvalidInput, labels: Mapping[str, str] = LABELS) -> FormErrors:
    return FormErrors(
        tuple(FormProblem(e.field, labels.get(e.field, e.field), wording(e)) for e in exc.errors)
    )
