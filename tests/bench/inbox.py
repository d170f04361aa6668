"""Benchmark: the staff inbox at platform scale.

1,000,000 messages over 10,000 tenants (a federal root, 20 regions, 80 municipalities and
their organizations). Volume is skewed as appeals are: the hundred administrations hold about
half of it, the largest some 45,000 messages, the median organization a few dozen. Statuses
follow age (recent ones in work, old ones closed, a few stragglers overdue), with deadlines,
executors, reopened messages and Russian text. Written with COPY through the privileged
connection; the indexes are built after the load, then VACUUM ANALYZE.

Measured through the service functions, on the app role under row-level security as in
production, for tenants drawn by volume (staff work where the messages are):

* the inbox's first page (p95), and a deep page (the 10,001st message onwards) of the largest
  tenants, against the baseline of the same page cut by OFFSET;
* the counts per status and deadline (p95), against a naive single scan of the tenant;
* full-text search, first page (p95), against the baseline of ``@@`` queried directly under
  row-level security (which cannot use the GIN index);
* the roll-up of a region (~500 tenants) and of the whole platform.

Run: ``python -m tests.bench.inbox`` (``PRIEMNAYA_BENCH_DATABASE_URL`` or
``PRIEMNAYA_TEST_DATABASE_URL``, a superuser URL; else an embedded server). ``--keep`` leaves
the database in place and names it; ``--reuse NAME`` measures such a database again without
generating. Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cabinets.messages.actors import Staff
from cabinets.messages.inbox.counts import count_messages
from cabinets.messages.inbox.queries import list_messages
from cabinets.messages.inbox.rollup import rollup
from cabinets.messages.inbox.schemas import InboxQuery, Sort
from cabinets.messages.workflow import Status
from rbac.enforcer import Grant, PolicyEnforcer
from tenancy import migrate
from tenancy.database import Database, DatabaseUrls, driver_url
from tests.databases import libpq_url, postgres_server

MESSAGES = 1_000_000
TENANTS = 10_000
REGIONS, MUNICIPALITIES, SETTLEMENTS = 20, 4, 10  # municipalities per region, settlements each
SKEW = 1.1  # the n-th largest tenant gets a share proportional to (n + 3) ** -SKEW
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PAGE_SAMPLES, COUNT_SAMPLES, SEARCH_SAMPLES = 400, 200, 300
DEEP_OFFSET = 10_000

STREETS = [
    "Лесная", "Садовая", "Советская", "Молодёжная", "Центральная", "Школьная", "Новая",
    "Набережная", "Заводская", "Полевая", "Гагарина", "Ленина", "Мира", "Пушкина", "Строителей",
]  # fmt: skip
GENERAL = [
    "Прошу принять меры.",
    "Обращаюсь повторно, предыдущее обращение осталось без ответа.",
    "Жильцы дома обращались в управляющую компанию, но ничего не изменилось.",
    "Прошу сообщить сроки устранения.",
    "Фотографии прилагаю.",
    "Ситуация повторяется каждый год.",
]
# topic → (summaries, sentences of the text)
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "pothole": (
        ["Яма на дороге", "Ямы на проезжей части", "Разбитый асфальт во дворе"],
        [
            "Глубокая яма на проезжей части у дома {house}.",
            "Машины объезжают яму по тротуару.",
            "Асфальт разрушен после зимы, ямы заполнены водой.",
            "В яме повредил колесо автомобиля.",
        ],
    ),
    "garbage": (
        ["Не вывозят мусор", "Переполнены мусорные контейнеры", "Свалка во дворе"],
        [
            "Мусорные контейнеры переполнены уже неделю.",
            "Мусор не вывозят, вокруг площадки растёт свалка.",
            "Крупногабаритный мусор лежит у подъезда.",
        ],
    ),
    "lighting": (
        ["Не горят фонари", "Нет освещения во дворе", "Тёмная улица"],
        [
            "Фонари на улице не горят с начала месяца.",
            "Вечером во дворе полная темнота, дети возвращаются из школы без освещения.",
            "Перегорел фонарь у пешеходного перехода.",
        ],
    ),
    "heating": (
        ["Холодно в квартире", "Нет отопления", "Слабое отопление"],
        [
            "В квартире температура ниже восемнадцати градусов.",
            "Батареи едва тёплые, отопление не работает как следует.",
            "Отопление дали, но в угловых квартирах холодно.",
        ],
    ),
    "water": (
        ["Нет горячей воды", "Ржавая вода из крана", "Прорыв трубы"],
        [
            "Горячей воды нет третий день.",
            "Из крана течёт ржавая вода, пить её невозможно.",
            "Прорвало трубу в подвале, вода заливает подъезд.",
        ],
    ),
    "snow": (
        ["Не убран снег", "Сосульки на крыше", "Гололёд на тротуаре"],
        [
            "Снег во дворе не убирают, машины не могут проехать.",
            "С крыши свисают огромные сосульки над входом.",
            "Тротуар покрыт льдом, пешеходы падают.",
        ],
    ),
    "elevator": (
        ["Не работает лифт", "Лифт застревает", "Сломан лифт"],
        [
            "Лифт не работает вторую неделю, пожилые жильцы не могут выйти из дома.",
            "Лифт застревает между этажами.",
            "В кабине лифта сломана кнопка вызова.",
        ],
    ),
    "roof": (
        ["Протекает крыша", "Течёт кровля", "Нужен ремонт крыши"],
        [
            "После каждого дождя крыша протекает, вода льётся в квартиру.",
            "На потолке подъезда мокрые пятна от протечки кровли.",
            "Кровля не ремонтировалась много лет.",
        ],
    ),
    "dogs": (
        ["Бродячие собаки", "Стая собак во дворе"],
        [
            "Во дворе живёт стая бродячих собак, они бросаются на детей.",
            "Собаки собираются у школы и пугают прохожих.",
        ],
    ),
    "transport": (
        ["Не ходит автобус", "Отменили маршрут", "Переполненный автобус"],
        [
            "Автобус по маршруту не ходит по расписанию.",
            "Утром автобусы переполнены, люди опаздывают на работу.",
            "Маршрут отменили без предупреждения.",
        ],
    ),
    "school": (
        ["Питание в школе", "Холодно в школе", "Ремонт в школе"],
        [
            "Детей в школе кормят холодной едой.",
            "В классах холодно, дети сидят в куртках.",
            "Ремонт в школе затянулся до начала учебного года.",
        ],
    ),
    "clinic": (
        ["Нет записи к врачу", "Очередь в поликлинике", "Нет лекарств"],
        [
            "Записаться к врачу невозможно, талонов нет на месяц вперёд.",
            "В поликлинике огромные очереди к терапевту.",
            "В аптеке при поликлинике нет льготных лекарств.",
        ],
    ),
}
SEARCHES = [
    "яма", "мусор", "фонари не горят", "отопление", "горячая вода", "лифт", "крыша протекает",
    "бродячие собаки", "снег", "автобус", "асфальт яма", "контейнеры переполнены",
    '"не работает лифт"', "запись к врачу", "сосульки", "ржавая вода", "Лесная", "школа -питание",
]  # fmt: skip

# status → share, by the message's age: new ones wait, recent ones are in work, old ones closed
FRESH = {"new": 70, "clarification": 5, "registered": 20, "rejected": 5}
RECENT = {
    "registered": 15, "assigned": 35, "on_approval": 8, "answered": 22, "closed": 10,
    "rejected": 5, "forwarded": 3, "merged": 2,
}  # fmt: skip
OLD = {
    "closed": 820, "answered": 20, "rejected": 80, "forwarded": 40, "merged": 20, "assigned": 15,
    "registered": 5,
}  # fmt: skip
REGISTERED = frozenset(
    {"registered", "assigned", "on_approval", "answered", "closed", "merged"}
)  # got a number and a due date
ASSIGNED = frozenset({"assigned", "on_approval", "answered", "closed"})


@dataclass
class Tenant:
    id: uuid.UUID
    parent: uuid.UUID | None
    slug: str
    kind: str
    territory: str | None
    settlements: list[str]


def tenants() -> tuple[list[Tenant], list[tuple[str, str, str | None]]]:
    """The hierarchy and its territories: each organization sits in a municipality."""
    places: list[tuple[str, str, str | None]] = []
    found = [Tenant(uuid.uuid4(), None, "federal", "federal", None, [])]
    municipalities: list[Tenant] = []
    for r in range(1, REGIONS + 1):
        region_code = f"{r:02d}000000"
        places.append((region_code, f"Регион {r}", None))
        region = Tenant(uuid.uuid4(), found[0].id, f"region-{r}", "region", region_code, [])
        found.append(region)
        for m in range(1, MUNICIPALITIES + 1):
            code = f"{r:02d}{m:03d}000"
            places.append((code, f"Район {r}-{m}", region_code))
            settlements = [f"{r:02d}{m:03d}{s:03d}" for s in range(1, SETTLEMENTS + 1)]
            places += [(s, f"Поселение {s}", code) for s in settlements]
            municipality = Tenant(
                uuid.uuid4(), region.id, f"mun-{r}-{m}", "municipality", code, settlements
            )
            region.settlements += settlements
            found.append(municipality)
            municipalities.append(municipality)
    kinds = ["school", "clinic", "social", "culture", "other"]
    for n in range(TENANTS - len(found)):
        municipality = municipalities[n % len(municipalities)]
        found.append(
            Tenant(
                uuid.uuid4(), municipality.id, f"org-{n}", kinds[n % len(kinds)],
                municipality.settlements[n % SETTLEMENTS], municipality.settlements,
            )
        )  # fmt: skip
    return found, places


def volumes(rng: random.Random, everyone: list[Tenant], total: int) -> dict[uuid.UUID, int]:
    """Messages per tenant: the largest shares go to the administrations."""
    administrations = [t for t in everyone if t.kind in ("federal", "region", "municipality")]
    others = [t for t in everyone if t.kind not in ("federal", "region", "municipality")]
    rng.shuffle(administrations)
    rng.shuffle(others)
    ranked = administrations + others
    weights = [(n + 3) ** -SKEW for n in range(len(ranked))]
    counts = dict.fromkeys((t.id for t in ranked), 0)
    for index in rng.choices(range(len(ranked)), weights=weights, k=total):
        counts[ranked[index].id] += 1
    return counts


def _pick(rng: random.Random, shares: dict[str, int]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _ts(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "\\N"


def message_rows(
    rng: random.Random,
    everyone: list[Tenant],
    counts: dict[uuid.UUID, int],
    executors: dict[uuid.UUID, list[uuid.UUID]],
    version: int,
) -> Iterator[str]:
    """COPY text lines, tenant by tenant (the order of the file does not matter to a query:
    each tenant's messages are spread over time as in life)."""
    serial = 0
    topics = list(TOPICS)
    for tenant in everyone:
        places = tenant.settlements or [tenant.territory or "01000000"]
        registered = 0
        for _ in range(counts[tenant.id]):
            serial += 1
            age = timedelta(days=730 * rng.random() ** 1.6, seconds=rng.randrange(86_400))
            received = NOW - age
            shares = FRESH if age < timedelta(days=1) else RECENT if age.days < 30 else OLD
            status = _pick(rng, shares)
            topic = rng.choice(topics)
            titles, sentences = TOPICS[topic]
            house = rng.randrange(1, 120)
            street = rng.choice(STREETS)
            body = " ".join(
                [
                    *(s.format(house=house) for s in rng.sample(sentences, 2)),
                    rng.choice(GENERAL),
                    f"Адрес: ул. {street}, д. {house}.",
                ]
            )
            stage_due = due = registered_at = None
            number = assignee = "\\N"
            if status == "new":
                stage_due = received + timedelta(days=1)
            elif status == "clarification":
                stage_due = received + timedelta(days=4)
            if status in REGISTERED:
                registered += 1
                registered_at = received + timedelta(hours=rng.randrange(1, 30))
                number = f"{registered}/{registered_at.year}"
                due = registered_at + timedelta(days=30 + (15 if rng.random() < 0.05 else 0))
            if status in ASSIGNED:
                assignee = str(rng.choice(executors[tenant.id]))
            # A low rating sent some back: a few in work again, fewer closed since.
            chance = {"registered": 0.03, "assigned": 0.03, "on_approval": 0.03, "closed": 0.01}
            reopened = int(rng.random() < chance.get(status, 0))
            yield "\t".join(
                [
                    str(tenant.id), str(uuid.uuid4()), f"{received:%y}-{serial:07d}", topic,
                    str(version), rng.choice(places), f"ул. {street}, д. {house}",
                    rng.choice(titles), body, '{"name": "Заявитель"}', _ts(received), status,
                    _ts(received), _ts(stage_due), number, _ts(registered_at), assignee,
                    _ts(due), str(reopened), _ts(received),
                ]
            ) + "\n"  # fmt: skip


def generate(urls: DatabaseUrls, rng: random.Random, total: int) -> float:
    """Write the world; return the seconds it took."""
    started = time.perf_counter()
    everyone, places = tenants()
    counts = volumes(rng, everyone, total)
    executors = {
        t.id: [uuid.uuid4() for _ in range(min(40, max(1, counts[t.id] // 400)))] for t in everyone
    }
    with psycopg.connect(libpq_url(urls.privileged)) as conn, conn.cursor() as cur:
        # Foreign keys are checked by construction here, not row by row.
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '512MB'")
        with cur.copy("COPY territories (code, name, parent_code) FROM STDIN") as copy:
            for place in places:
                copy.write_row(place)
        with cur.copy(
            "COPY tenants (id, parent_id, slug, name, kind, territory_code, inn) FROM STDIN"
        ) as copy:
            for t in everyone:
                copy.write_row((t.id, t.parent, t.slug, t.slug, t.kind, t.territory, "7707083893"))
        with cur.copy("COPY users (id, email, name) FROM STDIN") as copy:
            for n, user in enumerate(u for people in executors.values() for u in people):
                copy.write_row((user, f"exec{n}@bench.example.ru", f"Исполнитель {n}"))
        version = cur.execute(
            "INSERT INTO catalog_versions (status, created_by, published_at) "
            "VALUES ('published', 'bench', now()) RETURNING id"
        ).fetchone()
        assert version is not None
        with cur.copy(
            "COPY catalog_topics (version_id, code, category_code, title, deadline_days, "
            "calendar) FROM STDIN"
        ) as copy:
            for code, (titles, _) in TOPICS.items():
                copy.write_row((version[0], code, "city", titles[0], 30, "calendar"))
        # Indexes are built once after the load, as a restore would: far faster than growing
        # eleven of them row by row. The constraints' own indexes stay.
        indexes = cur.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = 'messages' AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """
        ).fetchall()
        for name, _ in indexes:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        with cur.copy(
            "COPY messages (tenant_id, id, tracking_number, topic_code, catalog_version_id, "
            "territory_code, address, summary, body, applicant, consent_at, status, "
            "received_at, stage_due_at, registration_number, registered_at, assignee_id, "
            "due_at, reopened_count, updated_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            for n, line in enumerate(message_rows(rng, everyone, counts, executors, version[0])):
                buffer.write(line)
                if n % 5_000 == 4_999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        for _, definition in indexes:
            cur.execute(definition)
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE) messages")
        cur.execute("ANALYZE")
    return time.perf_counter() - started


@contextmanager
def server() -> Iterator[str]:
    url = os.environ.get("PRIEMNAYA_BENCH_DATABASE_URL")
    if url:
        yield driver_url(url)
        return
    with postgres_server() as found:
        yield found


@contextmanager
def bench_database(reuse: str | None, keep: bool) -> Iterator[tuple[DatabaseUrls, bool]]:
    """A migrated database (created here unless reused) and whether it still needs data."""
    with server() as server_url:
        name = reuse or f"priemnaya_bench_{uuid.uuid4().hex[:10]}"
        admin = libpq_url(server_url)
        if reuse is None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        privileged = make_url(server_url).set(database=name)
        urls = DatabaseUrls(
            privileged=privileged.render_as_string(hide_password=False),
            app=privileged.set(username="priemnaya_app", password=None).render_as_string(
                hide_password=False
            ),
        )
        try:
            migrate.upgrade(urls)
            yield urls, reuse is None
        finally:
            if keep or reuse:
                print(f"# the database is kept: --reuse {name}")
            else:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def timed(work: Awaitable[Any]) -> float:
    """Milliseconds one call takes (a coroutine starts only when awaited)."""
    started = time.perf_counter()
    await work
    return (time.perf_counter() - started) * 1000


@dataclass
class Platform:
    """What the measurements need to know of the generated world, read back from it."""

    parents: dict[uuid.UUID, uuid.UUID | None]
    slugs: dict[uuid.UUID, str]
    volume: dict[uuid.UUID, int]

    def by_volume(self, rng: random.Random, k: int) -> list[uuid.UUID]:
        ids = list(self.volume)
        return rng.choices(ids, weights=[self.volume[t] for t in ids], k=k)

    def largest(self, k: int) -> list[uuid.UUID]:
        return sorted(self.volume, key=self.volume.__getitem__, reverse=True)[:k]


async def platform(db: Database) -> Platform:
    async with db.privileged_session() as session:
        found = (await session.execute(text("SELECT id, parent_id, slug FROM tenants"))).all()
        counted = await session.execute(
            text("SELECT tenant_id, count(*) FROM messages GROUP BY tenant_id")
        )
        volume: dict[uuid.UUID, int] = {tenant_id: n for tenant_id, n in counted}
    return Platform(
        parents={t.id: t.parent_id for t in found},
        slugs={t.id: t.slug for t in found},
        volume={t.id: volume.get(t.id, 0) for t in found},
    )


def staff_of(world: Platform) -> tuple[Staff, Staff]:
    """A coordinator in every tenant, and a supervisor of the whole platform."""
    enforcer = PolicyEnforcer()
    enforcer.set_hierarchy({str(t): str(p) if p else None for t, p in world.parents.items()})
    coordinator, supervisor = uuid.uuid4(), uuid.uuid4()
    root = next(t for t, p in world.parents.items() if p is None)
    enforcer.load(
        [Grant(str(coordinator), "coordinator", str(t)) for t in world.parents]
        + [Grant(str(supervisor), "supervisor", str(root))]
    )
    return (
        Staff(coordinator, str(coordinator), enforcer),
        Staff(supervisor, str(supervisor), enforcer),
    )


NAIVE_OFFSET_PAGE = text(
    """
    SELECT m.id, m.tracking_number, m.registration_number, m.status, m.version, m.topic_code,
           m.territory_code, m.summary, m.address, m.applicant ->> 'name' AS applicant_name,
           m.received_at, m.due_at, m.stage_due_at, m.assignee_id, m.reopened_count
    FROM messages m WHERE m.tenant_id = :t
    ORDER BY m.received_at DESC, m.id DESC LIMIT 25 OFFSET :offset
    """
)
NAIVE_SEARCH = text(
    """
    SELECT m.id, m.tracking_number, m.status, m.summary, m.received_at,
           ts_rank(m.search, websearch_to_tsquery('russian', :q)) AS rank
    FROM messages m
    WHERE m.tenant_id = :t AND m.search @@ websearch_to_tsquery('russian', :q)
    ORDER BY rank DESC, m.received_at DESC, m.id DESC LIMIT 26
    """
)
NAIVE_COUNTS = text(
    """
    SELECT m.status, count(*),
           count(*) FILTER (WHERE m.status IN ('new', 'registered', 'assigned', 'on_approval')
                            AND coalesce(m.due_at, m.stage_due_at) < :now),
           count(*) FILTER (WHERE m.status IN ('new', 'registered', 'assigned', 'on_approval')
                            AND coalesce(m.due_at, m.stage_due_at) BETWEEN :now AND :soon),
           count(*) FILTER (WHERE m.reopened_count > 0
                            AND m.status IN ('registered', 'assigned', 'on_approval'))
    FROM messages m WHERE m.tenant_id = :t GROUP BY m.status
    """
)


async def naive(db: Database, tenant: uuid.UUID, query: Any, params: dict[str, Any]) -> None:
    async with db.tenant_session([tenant]) as session:
        (await session.execute(query, {"t": tenant, **params})).all()


FILTERS = [
    InboxQuery(status=[Status.ASSIGNED, Status.ON_APPROVAL]),
    InboxQuery(overdue=True),
    InboxQuery(due_soon=True, sort=Sort.DUE),
    InboxQuery(sort=Sort.DUE),
    InboxQuery(reopened=True),
    InboxQuery(status=[Status.REGISTERED], topic="pothole"),
]


async def measure(urls: DatabaseUrls, rng: random.Random) -> None:
    db = Database(urls, pool_size=2)
    try:
        world = await platform(db)
        coordinator, supervisor = staff_of(world)
        now = datetime.now(UTC)
        first = InboxQuery()
        for tenant in world.largest(30):  # warm the caches a little, as a running server is
            await list_messages(db, coordinator, tenant, first)

        pages = [
            await timed(list_messages(db, coordinator, t, first))
            for t in world.by_volume(rng, PAGE_SAMPLES)
        ]
        filtered = [
            await timed(list_messages(db, coordinator, t, rng.choice(FILTERS)))
            for t in world.by_volume(rng, PAGE_SAMPLES // 2)
        ]

        keyset_deep, offset_deep = [], []
        for tenant in world.largest(10):
            cursor = None
            for _ in range(DEEP_OFFSET // 100):  # to the 10,001st message, 100 at a time
                page = await list_messages(
                    db, coordinator, tenant, InboxQuery(limit=100, cursor=cursor)
                )
                cursor = page.next_cursor
            deep = InboxQuery(cursor=cursor)
            for _ in range(3):
                keyset_deep.append(await timed(list_messages(db, coordinator, tenant, deep)))
                offset_deep.append(
                    await timed(naive(db, tenant, NAIVE_OFFSET_PAGE, {"offset": DEEP_OFFSET}))
                )

        counts = [
            await timed(count_messages(db, coordinator, t))
            for t in world.by_volume(rng, COUNT_SAMPLES)
        ]
        window = {"now": now, "soon": now + timedelta(days=3)}
        naive_counts = [
            await timed(naive(db, t, NAIVE_COUNTS, window))
            for t in world.by_volume(rng, COUNT_SAMPLES)
        ]
        largest = world.largest(1)[0]
        counts_largest = min(
            [await timed(count_messages(db, coordinator, largest)) for _ in range(5)]
        )

        searches = list(
            zip(
                world.by_volume(rng, SEARCH_SAMPLES),
                rng.choices(SEARCHES, k=SEARCH_SAMPLES),
                strict=True,
            )
        )
        found = [
            await timed(list_messages(db, coordinator, t, InboxQuery(q=q))) for t, q in searches
        ]
        naive_found = [await timed(naive(db, t, NAIVE_SEARCH, {"q": q})) for t, q in searches]

        root = next(t for t, p in world.parents.items() if p is None)
        region = next(t for t, p in world.parents.items() if p == root)
        rollup_region = min([await timed(rollup(db, supervisor, region)) for _ in range(3)])
        rollup_all = await timed(rollup(db, supervisor, root))
    finally:
        await db.dispose()

    sizes = sorted(world.volume.values(), reverse=True)
    print(
        f"# {sum(sizes):,} messages over {len(sizes):,} tenants; largest {sizes[0]:,}, "
        f"10th {sizes[9]:,}, median {statistics.median(sizes):.0f}; tenants drawn by volume"
    )
    p95 = percentile(pages, 0.95)
    print(f"METRIC inbox_p95_ms {p95:.2f} ms")
    print(f"METRIC inbox_filtered_p95_ms {percentile(filtered, 0.95):.2f} ms")
    keyset, offset = statistics.median(keyset_deep), statistics.median(offset_deep)
    print(f"METRIC inbox_deep_page_ms {keyset:.2f} ms")
    print(f"METRIC naive_offset_deep_page_ms {offset:.2f} ms")
    print(f"# OFFSET / keyset at the {DEEP_OFFSET + 1:,}th message: {offset / keyset:,.1f}x")
    counts_p95, naive_counts_p95 = percentile(counts, 0.95), percentile(naive_counts, 0.95)
    print(f"METRIC counts_ms {counts_p95:.2f} ms")
    print(f"METRIC counts_largest_tenant_ms {counts_largest:.2f} ms")
    print(f"METRIC naive_counts_ms {naive_counts_p95:.2f} ms")
    print(f"# naive / ours, counts at p95: {naive_counts_p95 / counts_p95:,.1f}x")
    search_p95, naive_search_p95 = percentile(found, 0.95), percentile(naive_found, 0.95)
    print(f"METRIC search_p95_ms {search_p95:.2f} ms")
    print(f"METRIC naive_search_p95_ms {naive_search_p95:.2f} ms")
    print(f"# @@ under RLS / ours, search at p95: {naive_search_p95 / search_p95:,.1f}x")
    print(f"METRIC rollup_region_ms {rollup_region:.1f} ms")
    print(f"METRIC rollup_platform_ms {rollup_all:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    parser.add_argument(
        "--messages", type=int, default=MESSAGES, help="fewer, for a quick try of the script"
    )
    options = parser.parse_args()
    rng = random.Random(20261123)
    with bench_database(options.reuse, options.keep) as (urls, empty):
        if empty:
            seconds = generate(urls, rng, options.messages)
            print(f"# generated in {seconds:.0f} s")
        asyncio.run(measure(urls, rng))


if __name__ == "__main__":
    main()
