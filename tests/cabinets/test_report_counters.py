"""The reports' counters (``report_counters``) always say what a recount of the messages says:
whatever changes a message — intake, the workflow's steps, a rating that reopens it, the
clock, a forward or a new topic, a merge, its destruction — the counters change with it, in
the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from cabinets.messages.scheduled import advance_clock
from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import World, ok
from tests.databases import run_in_database

# Per (tenant, day of receipt, topic, territory), counted straight from the messages.
RECOUNT = """
    SELECT tenant_id, received_at::date AS day, topic_code, territory_code,
           count(*) AS received,
           count(*) FILTER (WHERE status = 'new') AS status_new,
           count(*) FILTER (WHERE status = 'clarification') AS status_clarification,
           count(*) FILTER (WHERE status = 'rejected') AS status_rejected,
           count(*) FILTER (WHERE status = 'registered') AS status_registered,
           count(*) FILTER (WHERE status = 'assigned') AS status_assigned,
           count(*) FILTER (WHERE status = 'on_approval') AS status_on_approval,
           count(*) FILTER (WHERE status = 'answered') AS status_answered,
           count(*) FILTER (WHERE status = 'closed') AS status_closed,
           count(*) FILTER (WHERE status = 'forwarded') AS status_forwarded,
           count(*) FILTER (WHERE status = 'merged') AS status_merged,
           count(answered_at) AS answers,
           count(*) FILTER (WHERE answered_at <= due_at) AS answers_on_time,
           count(answered_at - registered_at) AS answers_timed,
           count(rating) AS ratings, coalesce(sum(rating), 0) AS rating_sum,
           count(*) FILTER (WHERE reopened_count > 0) AS reopened,
           coalesce(sum(extract(epoch FROM answered_at - registered_at) / 86400.0), 0)
               AS answer_days
    FROM messages GROUP BY 1, 2, 3, 4
"""
COLUMNS = (
    "tenant_id, day, topic_code, territory_code, received, status_new, status_clarification, "
    "status_rejected, status_registered, status_assigned, status_on_approval, status_answered, "
    "status_closed, status_forwarded, status_merged, answers, answers_on_time, answers_timed, "
    "ratings, rating_sum, reopened, answer_days"
)


def total(rows: set[tuple[Any, ...]], column: str) -> Any:
    """One counter summed over the cells."""
    at = [name.strip() for name in COLUMNS.split(",")].index(column)
    return sum(row[at] for row in rows)


Rows = set[tuple[Any, ...]]
# The coarser tables, recounted from the day cells (themselves checked against the messages).
TOTALS = COLUMNS.replace("day, ", "")
WEEKS = "tenant_id, week, received, answers, answers_on_time"
SUMS = ", ".join(f"sum({c.strip()})" for c in TOTALS.split(",")[3:])


def counted(urls: DatabaseUrls) -> tuple[Rows, Rows]:
    """The counters (cells a message left hold zeros, and count for nothing), and the recount.
    The totals and the weeks are checked against the recount here too."""

    async def read(db: Database) -> tuple[Rows, Rows]:
        async with db.privileged_session() as session:

            async def rows(query: str) -> Rows:
                return {tuple(r) for r in await session.execute(text(query))}

            kept = await rows(f"SELECT {COLUMNS} FROM report_counters WHERE received <> 0")
            recounted = await rows(f"SELECT {COLUMNS} FROM ({RECOUNT}) r")
            totals = await rows(f"SELECT {TOTALS} FROM report_totals WHERE received <> 0")
            assert totals == await rows(
                f"SELECT tenant_id, topic_code, territory_code, {SUMS} FROM ({RECOUNT}) r "
                "GROUP BY 1, 2, 3"
            )
            weeks = await rows(f"SELECT {WEEKS} FROM report_weeks WHERE received <> 0")
            assert weeks == await rows(
                "SELECT tenant_id, date_trunc('week', day)::date, sum(received), sum(answers), "
                f"sum(answers_on_time) FROM ({RECOUNT}) r GROUP BY 1, 2"
            )
            return kept, recounted

    found: tuple[Rows, Rows] = run_in_database(urls, read)
    return found


def answered(world: World, receipt: dict[str, Any]) -> dict[str, Any]:
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    message = ok(desks["executor"].act(message, "submit-answer", text="Сделано"))
    return ok(desks["approver"].act(message, "approve-answer"))


def rate(world: World, receipt: dict[str, Any], rating: int) -> None:
    response = world.citizen.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": rating},
    )
    assert response.status_code == 200, response.text


def test_the_counters_match_a_recount_after_every_kind_of_change(
    world: World, clean_database: DatabaseUrls
) -> None:
    desks = world.desks
    kept, recounted = counted(clean_database)
    assert kept == recounted == set()

    world.submit()  # waits
    praised, reopened, unrated = world.submit(), world.submit(), world.submit()
    for receipt in (praised, reopened, unrated):
        answered(world, receipt)
    rate(world, praised, 5)
    rate(world, reopened, 1)  # back in work: no longer answered, counted as reopened
    kept, recounted = counted(clean_database)
    assert kept == recounted
    assert (total(kept, "received"), total(kept, "reopened"), total(kept, "ratings")) == (4, 1, 2)

    forwarded = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    ok(desks["coordinator"].act(forwarded, "forward", tenant="river", reason="Район"))
    rerouted = world.message_of(world.submit())
    ok(desks["moderator"].act(rerouted, "change-topic", topic="canteen", reason="Про школу"))
    primary = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    duplicate = world.message_of(world.submit(applicant={"name": "Пётр", "email": "p@x.ru"}))
    ok(desks["coordinator"].act(duplicate, "merge", primary=primary["id"]))
    primary = ok(desks["coordinator"].act(primary, "assign", executor="exec@roads.example.ru"))
    primary = ok(desks["executor"].act(primary, "submit-answer", text="В мае"))
    ok(desks["approver"].act(primary, "approve-answer"))  # answers the duplicate too
    silent = world.message_of(world.submit())
    ok(desks["moderator"].act(silent, "request-clarification", question="Где?", days=3))
    kept, recounted = counted(clean_database)
    assert kept == recounted

    # The clock changes many messages in one statement: rejects, closes, escalates.
    later = datetime.now(UTC) + timedelta(days=60)
    run_in_database(clean_database, lambda db: advance_clock(db, now=later))
    kept, recounted = counted(clean_database)
    assert kept == recounted
    assert total(kept, "status_rejected") == 1  # the silent one
    assert total(kept, "status_closed") == 4  # the praised one, and three answers left unrated

    async def destroy_one(db: Database) -> None:
        async with db.privileged_session() as session:
            ids = {"n": praised["number"]}
            holder = "(SELECT holder_message_id FROM message_tracking WHERE number = :n)"
            for table in ("message_events", "attachments"):
                await session.execute(text(f"DELETE FROM {table} WHERE message_id = {holder}"), ids)
            await session.execute(text(f"DELETE FROM messages WHERE id = {holder}"), ids)

    run_in_database(clean_database, destroy_one)
    kept, recounted = counted(clean_database)
    assert kept == recounted
    assert total(kept, "received") == 10
    assert total(kept, "answer_days") > Decimal(0)


def test_rebuilding_the_counters_from_the_messages_gives_the_same_rows(
    world: World, clean_database: DatabaseUrls
) -> None:
    for receipt in (world.submit(), world.submit()):
        answered(world, receipt)
    world.submit()
    before, _ = counted(clean_database)

    async def recount(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(text("SELECT recount_report_counters()"))

    run_in_database(clean_database, recount)
    after, recounted = counted(clean_database)
    assert before == after == recounted
