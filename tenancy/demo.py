"""The demo region seeded by ``priemnaya up --demo``: a region government, two ministries and
three municipalities, each with a school and a clinic. Identifiers are generated with valid
check digits; the region code 99 is not a real one."""

from __future__ import annotations

from pathlib import Path

from tenancy.accounts import service as accounts
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import NotFound
from tenancy.routing import service as routing
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service
from tenancy.tenants.identifiers import inn_with_check_digits, ogrn_with_check_digit
from tenancy.tenants.models import TenantKind
from tenancy.tenants.schemas import TenantCreate
from tenancy.territories import service as territories

DEMO_ROOT = "demo-oblast"
DEMO_SOURCE = "demo"
DEMO_FILES = Path(__file__).with_name("demo_files")

_MUNICIPALITIES = [
    ("demo-severny", "Северный городской округ", "99701000"),
    ("demo-rechnoy", "Речной муниципальный район", "99702000"),
    ("demo-lesnoy", "Лесной муниципальный округ", "99703000"),
]


def demo_region() -> list[TenantCreate]:
    """The demo tenants, parents before children."""
    serial = iter(range(1, 100))

    def tenant(
        slug: str, name: str, kind: TenantKind, parent: str | None, territory: str, short: str
    ) -> TenantCreate:
        n = next(serial)
        return TenantCreate(
            slug=slug,
            name=name,
            short_name=short,
            kind=kind,
            parent=parent,
            territory=territory,
            inn=inn_with_check_digits(f"99000{n:04d}"),
            ogrn=ogrn_with_check_digit(f"10299000{n:04d}"),
        )

    tenants = [
        tenant(
            DEMO_ROOT,
            "Правительство Демонстрационной области",
            TenantKind.REGION,
            None,
            "99000000",
            "Правительство области",
        ),
        tenant(
            "demo-minobr",
            "Министерство образования Демонстрационной области",
            TenantKind.MINISTRY,
            DEMO_ROOT,
            "99000000",
            "Минобразования",
        ),
        tenant(
            "demo-minzdrav",
            "Министерство здравоохранения Демонстрационной области",
            TenantKind.MINISTRY,
            DEMO_ROOT,
            "99000000",
            "Минздрав",
        ),
    ]
    for slug, name, territory in _MUNICIPALITIES:
        place = name.split()[0]
        tenants.append(
            tenant(
                slug,
                f"Администрация: {name}",
                TenantKind.MUNICIPALITY,
                DEMO_ROOT,
                territory,
                f"Администрация ({place})",
            )
        )
        tenants.append(
            tenant(
                f"{slug}-school-1",
                f"Средняя школа № 1 ({place})",
                TenantKind.SCHOOL,
                slug,
                territory,
                "Школа № 1",
            )
        )
        tenants.append(
            tenant(
                f"{slug}-clinic",
                f"Центральная больница ({place})",
                TenantKind.CLINIC,
                slug,
                territory,
                "ЦБ",
            )
        )
    return tenants


# (e-mail, name, [(tenant, role), ...]): one person of each kind of duty.
DEMO_STAFF = [
    (
        "governor@demo.example.ru",
        "Анна Губернская",
        [(DEMO_ROOT, "admin"), (DEMO_ROOT, "supervisor")],
    ),
    ("coordinator@demo.example.ru", "Иван Распределяев", [("demo-minobr", "coordinator")]),
    ("moderator@demo.example.ru", "Ольга Модерова", [("demo-minobr", "moderator")]),
    ("executor@demo.example.ru", "Пётр Исполнев", [("demo-severny-school-1", "executor")]),
    ("approver@demo.example.ru", "Мария Подписнова", [("demo-severny-school-1", "approver")]),
    ("operator@demo.example.ru", "Сергей Операторов", [("platform", "operator")]),
]


DEMO_PASSWORD = "demo-password"  # noqa: S105 (printed by `up --demo` on purpose)


async def seed_demo(db: Database, *, actor: str) -> int:
    """Create the demo region and its staff once; return how many tenants were created (0 when
    the region is already there)."""
    try:
        await service.get_tenant(db, DEMO_ROOT)
        return 0
    except NotFound:
        pass
    created = await service.create_tenants(db, demo_region(), actor=actor, source=DEMO_SOURCE)
    await staff.add_staff(
        db, [StaffInput(email=e, name=n) for e, n, _ in DEMO_STAFF], actor=actor, source=DEMO_SOURCE
    )
    for email, _, grants in DEMO_STAFF:
        for tenant, role in grants:
            await staff.grant_role(db, email, tenant, role, actor=actor, source=DEMO_SOURCE)
    await accounts.set_known_password(
        db, [email for email, _, _ in DEMO_STAFF], DEMO_PASSWORD, actor=actor
    )
    # Territories, a small catalog and the routing table; nobody answers housing questions in
    # the forest district yet, so `priemnaya route gaps` has something to show.
    await territories.import_territories(db, DEMO_FILES / "territories.csv", actor=actor)
    await catalog.import_catalog(
        db, [DEMO_FILES / "categories.csv", DEMO_FILES / "topics.csv"], actor=actor
    )
    await catalog.publish_catalog(db, actor=actor)
    await routing.import_rules(db, DEMO_FILES / "routes.csv", actor=actor)
    return len(created)
