"""The permission registry and the shared roles in plain Russian, for the people who give
roles: what each permission lets a person do, and what each role is for."""

from __future__ import annotations

from rbac.permissions import PERMISSIONS

PERMISSION_WORDS = {
    "message:read": "Читать обращения, их историю и вложения",
    "message:moderate": "Принимать и отклонять обращения, запрашивать уточнение у заявителя",
    "message:register": "Регистрировать обращения: номер и дата",
    "message:assign": "Назначать исполнителя, переназначать и объединять дубли",
    "message:forward": "Направлять обращение по компетенции в другую организацию",
    "message:extend": "Продлевать срок рассмотрения с указанием причины",
    "message:comment": "Писать внутренние комментарии (заявитель их не видит)",
    "answer:draft": "Готовить ответ: текст и файлы",
    "answer:approve": "Утверждать ответ к публикации или возвращать на доработку",
    "template:edit": "Вести шаблоны ответов организации",
    "staff:manage": "Приглашать сотрудников, выдавать и отзывать роли",
    "tenant:settings": "Менять настройки кабинета, интеграции и виджет",
    "report:read": "Читать отчёты и сводки",
    "catalog:edit": "Вести каталог тем и территорий (только оператор платформы)",
    "routing:edit": "Вести таблицу маршрутизации (только оператор платформы)",
    "tenant:provision": "Создавать и приостанавливать организации (только оператор платформы)",
}
assert set(PERMISSION_WORDS) == set(PERMISSIONS), "every permission is worded"

ROLE_WORDS = {
    "admin": "Администратор кабинета",
    "moderator": "Модератор",
    "coordinator": "Координатор",
    "executor": "Исполнитель",
    "approver": "Руководитель (утверждает ответы)",
    "supervisor": "Куратор (читает подведомственные организации)",
    "viewer": "Наблюдатель",
}

STATUS_WORDS = {"active": "работает", "deactivated": "отключён"}


def role_words(name: str) -> str:
    """A shared role's Russian name; a custom role is called as the organization named it."""
    return ROLE_WORDS.get(name, name)
