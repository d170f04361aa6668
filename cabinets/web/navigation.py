"""The sections of a cabinet and of the operator's pages, each with the permission it needs:
navigation shows a person only what their permissions allow. A section is listed here when its
page exists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    label: str
    path: str  # under /cabinet/{slug}, or under /operator
    permission: str
    own: bool = False  # also for a reach limited to one's own assignments (an executor)


CABINET_SECTIONS: list[Section] = [
    Section("Обращения", "", "message:read", own=True),
    Section("Сводка", "/rollup", "report:read"),
    Section("Сотрудники", "/staff", "staff:manage"),
    Section("Шаблоны ответов", "/templates", "template:edit"),
    Section("Отчёты", "/reports", "report:read"),
    Section("Рейтинг", "/rating", "report:read"),
    Section("Интеграции", "/integrations", "tenant:settings"),
    Section("Виджет", "/widget", "tenant:settings"),
    Section("Настройки", "/settings", "tenant:settings"),
    Section("Журнал", "/audit", "tenant:settings"),
]

OPERATOR_SECTIONS: list[Section] = [
    Section("Справочник тем", "/catalog", "catalog:edit"),
    Section("Территории", "/territories", "catalog:edit"),
    Section("Очередь", "/queue", "routing:edit"),
    Section("Маршрутизация", "/routing", "routing:edit"),
    Section("Покрытие", "/coverage", "routing:edit"),
    Section("Организации", "/organizations", "tenant:provision"),
]
