"""Citizens' messages for the demo region (``priemnaya up --demo``), so that a newcomer's
cabinets have work in them: each goes through intake as any message does, routed by the demo's
table; the one about housing in the forest district finds nobody and waits in the operator's
queue."""

from __future__ import annotations

from typing import Any

from cabinets.messages.intake import IntakeLimits, submit_message
from cabinets.messages.schemas import MessageSubmission
from tenancy.database import Database
from tenancy.routing.service import load_index

_APPLICANTS = [
    {"name": "Ольга Смирнова", "email": "olga.smirnova@demo-citizen.example.ru"},
    {"name": "Пётр Иванов", "email": "p.ivanov@demo-citizen.example.ru", "phone": "+79001234567"},
    {"name": "Наталья Кузнецова", "email": "n.kuznetsova@demo-citizen.example.ru"},
]

DEMO_MESSAGES: list[dict[str, Any]] = [
    {
        "topic": "canteen",
        "territory": "99702000",
        "applicant": _APPLICANTS[0],
        "summary": "В школьной столовой подают холодные обеды",
        "text": "Третью неделю подряд дети получают остывший обед: еду привозят заранее и не "
        "подогревают. Просим проверить организацию питания в школе села Речное.",
    },
    {
        "topic": "canteen",
        "territory": "99702000",
        "applicant": _APPLICANTS[1],
        "summary": "Нет меню на неделю для родителей",
        "text": "Родители не видят меню школьного питания заранее. Прошу обязать школу "
        "публиковать меню на неделю на сайте и на стенде.",
    },
    {
        "topic": "heating",
        "territory": "99701101",
        "applicant": _APPLICANTS[2],
        "address": "город Северный, ул. Школьная, 12",
        "summary": "Холодные батареи в подъезде",
        "text": "С начала отопительного сезона в доме едва тёплые батареи, в квартирах 16 "
        "градусов. Управляющая компания не отвечает.",
    },
    {
        "topic": "queue",
        "territory": "99703000",
        "applicant": _APPLICANTS[1],
        "summary": "Запись к терапевту только через месяц",
        "text": "В поликлинике Лесного округа ближайшая запись к терапевту через 30 дней. "
        "Прошу увеличить число приёмов.",
    },
    {
        "topic": "heating",
        "territory": "99703000",
        "applicant": _APPLICANTS[0],
        "address": "Лесной округ, с. Сосновка, ул. Полевая, 3",
        "summary": "В сельской школе нет горячей воды",
        "text": "В школе села Сосновка вторую неделю нет горячей воды.",
    },
]


async def seed_demo_messages(db: Database, *, base_url: str) -> int:
    """File the demo's messages; returns how many went to an organization (not queued)."""
    routes = await load_index(db)
    filed = 0
    for message in DEMO_MESSAGES:
        receipt = await submit_message(
            db,
            routes,
            MessageSubmission.model_validate(message | {"consent": True}),
            citizen_id=None,
            idempotency_key=None,
            base_url=base_url,
            limits=IntakeLimits(per_address=0, per_applicant=0),
        )
        filed += not receipt.queued
    return filed
