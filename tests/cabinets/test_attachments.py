"""Files of messages, on both backends (local disk, and a real S3 API from moto): citizens'
photos streamed or sent straight to storage, staff's answer documents, downloads after a
permission check, forwarding, the sweeper and retention, and everything that must be refused."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from PIL import Image
from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from cabinets.attachments import retention
from cabinets.attachments.store import storage_config
from storage.backends import open_store
from storage.object_store import ObjectStore
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tests.cabinets.message_world import POTHOLE, World, open_world, seed_message_world
from tests.databases import run_in_database
from tests.s3_server import S3_ACCESS_KEY, S3_SECRET_KEY, S3Server
from tests.storage.samples import (
    GPS_IFD,
    jpeg_with_gps,
    pdf_document,
    zip_archive,
)

PROBLEM = "application/problem+json"
PHOTO_NAME = "яма у дома 5.jpg"


@pytest.fixture(params=["local", "s3"])
def configured(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "local":
        return settings
    server: S3Server = request.getfixturevalue("s3_server")
    return settings.model_copy(
        update={
            "s3_endpoint": server.endpoint,
            "s3_access_key": S3_ACCESS_KEY,
            "s3_secret_key": S3_SECRET_KEY,
            "s3_bucket": f"files-{uuid.uuid4().hex[:12]}",
            "s3_secure": False,
        }
    )


@pytest.fixture
def world(
    configured: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[World]:
    seed_message_world(clean_database, tenant_data)
    yield from open_world(create_app(configured))


def upload(world: World, data: bytes, filename: str = PHOTO_NAME, **place: str) -> Any:
    params = {"topic": "pothole", "territory": "46701101", "filename": filename} | place
    return world.citizen.post("/api/v1/uploads", params=params, content=data)


def download(client: TestClient, response: Any) -> httpx2.Response:
    """Follow a download redirect: to the app (local disk) or to S3 (a presigned URL)."""
    assert response.status_code == 303, response.text
    link = response.headers["location"]
    base_url: str = client.app.state.settings.base_url  # type: ignore[attr-defined]
    if link.startswith(base_url):
        path = urlsplit(link)
        got = client.get(f"{path.path}?{path.query}")
        return httpx2.Response(got.status_code, headers=got.headers, content=got.content)
    return httpx2.get(link)


def store_of(world: World) -> ObjectStore:
    store: ObjectStore = world.citizen.app.state.store  # type: ignore[attr-defined]
    return store


def test_a_photo_goes_with_the_message_without_its_location_and_keeps_its_name(
    world: World,
) -> None:
    photo = upload(world, jpeg_with_gps())
    assert photo.status_code == 201, photo.text
    receipt = photo.json()
    assert (receipt["status"], receipt["content_type"]) == ("pending", "image/jpeg")
    message = world.submit(attachments=[{"id": receipt["id"], "token": receipt["token"]}])
    staff_view = world.message_of(message, "moderator")
    desk = world.desks["moderator"]
    files = desk.client.get(f"/api/v1/tenants/north-roads/messages/{staff_view['id']}/files")
    [stored] = files.json()
    assert (stored["filename"], stored["purpose"]) == (PHOTO_NAME, "request")
    assert len(stored["sha256"]) == 64
    got = download(
        desk.client,
        desk.client.get(
            f"/api/v1/tenants/north-roads/messages/{staff_view['id']}/files/{stored['id']}",
            follow_redirects=False,
        ),
    )
    assert got.status_code == 200
    assert "filename*=UTF-8''%D1%8F%D0%BC%D0%B0" in got.headers["content-disposition"]
    image = Image.open(io.BytesIO(got.content))
    assert GPS_IFD not in image.getexif()  # the location is personal data: stripped
    # The citizen sees their file on the status page and may download it with the token.
    timeline = world.timeline(message)
    assert [f["filename"] for f in timeline["files"]] == [PHOTO_NAME]
    mine = world.citizen.get(
        f"/api/v1/tracking/{message['number']}/files/{stored['id']}",
        params={"token": message["token"]},
        follow_redirects=False,
    )
    assert download(world.citizen, mine).status_code == 200


def test_a_photo_is_required_where_the_topic_says_so(world: World) -> None:
    no_photo = world.citizen.post("/api/v1/messages", json=POTHOLE)
    assert no_photo.status_code == 422
    assert "needs a photo" in no_photo.text
    pdf = upload(world, pdf_document(), filename="акт.pdf").json()
    still = world.citizen.post(
        "/api/v1/messages",
        json=POTHOLE | {"attachments": [{"id": pdf["id"], "token": pdf["token"]}]},
    )
    assert still.status_code == 422


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (zip_archive(), "photo.jpg", "ZIP"),
        (b"", "empty.jpg", "empty"),
        (jpeg_with_gps(), "../../etc/passwd.jpg", "path"),
        (jpeg_with_gps(), "photo\x07.jpg", "control"),
        (jpeg_with_gps(), "я" * 300 + ".jpg", "255"),
    ],
    ids=["disguised-archive", "empty", "path-separators", "control-characters", "too-long-name"],
)
def test_bad_files_are_refused_and_nothing_is_kept(
    world: World, data: bytes, filename: str, expected: str
) -> None:
    refused = upload(world, data, filename=filename)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert expected.lower() in refused.json()["detail"].lower()
    assert list(store_of(world).list("")) == []


def test_size_and_count_limits_follow_the_tenant(
    world: World, clean_database: DatabaseUrls
) -> None:
    async def limit(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text(
                    "UPDATE tenants SET attachment_max_mb = 1, attachment_max_files = 2 "
                    "WHERE slug = 'north-roads'"
                )
            )

    run_in_database(clean_database, limit)
    big = upload(world, b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1), filename="big.pdf")
    assert big.status_code == 422
    assert "1 MiB" in big.json()["detail"]
    photos = [upload(world, jpeg_with_gps()).json() for _ in range(3)]
    too_many = world.citizen.post(
        "/api/v1/messages",
        json=POTHOLE | {"attachments": [{"id": p["id"], "token": p["token"]} for p in photos]},
    )
    assert too_many.status_code == 422
    assert "at most 2 files" in too_many.text


def test_someone_elses_upload_cannot_be_attached(world: World) -> None:
    photo = upload(world, jpeg_with_gps()).json()
    stolen = world.citizen.post(
        "/api/v1/messages",
        json=POTHOLE | {"attachments": [{"id": photo["id"], "token": "not-the-token"}]},
    )
    assert stolen.status_code == 422
    assert stolen.json()["errors"][0]["field"] == "attachments[0]"
    twice = [{"id": photo["id"], "token": photo["token"]}]
    assert (
        world.citizen.post("/api/v1/messages", json=POTHOLE | {"attachments": twice}).status_code
        == 201
    )
    again = world.citizen.post("/api/v1/messages", json=POTHOLE | {"attachments": twice})
    assert "already attached" in again.text


def test_a_file_sent_straight_to_storage_is_checked_on_confirmation(world: World) -> None:
    photo = jpeg_with_gps()
    grant = world.citizen.post(
        "/api/v1/uploads/direct",
        json={"topic": "pothole", "territory": "46701101", "filename": "фото.jpg",
              "size": len(photo), "content_type": "image/jpeg"},
    )  # fmt: skip
    assert grant.status_code == 201, grant.text
    receipt = grant.json()
    target = receipt["upload"]
    if target["method"] == "PUT":  # the local disk: a signed URL of the app
        url = urlsplit(target["url"])
        sent = world.citizen.put(
            f"{url.path}?{url.query}", content=photo, headers=target["headers"]
        )
        assert sent.status_code == 204
    else:  # S3: a POST policy bound to the key, the type and the size
        sent_s3 = httpx2.post(target["url"], data=target["fields"], files={"file": photo})
        assert sent_s3.status_code in (200, 204), sent_s3.text
    confirmed = world.citizen.post(
        f"/api/v1/uploads/{receipt['id']}/confirm", json={"token": receipt["token"]}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "pending"
    world.submit(attachments=[{"id": receipt["id"], "token": receipt["token"]}])

    someone_else = world.citizen.post(
        f"/api/v1/uploads/{receipt['id']}/confirm", json={"token": "another uploader's guess"}
    )
    assert someone_else.status_code == 404
    early = world.citizen.post(
        "/api/v1/uploads/direct",
        json={"topic": "pothole", "territory": "46701101", "filename": "b.jpg", "size": 10},
    ).json()
    nothing = world.citizen.post(
        f"/api/v1/uploads/{early['id']}/confirm", json={"token": early["token"]}
    )
    assert nothing.status_code == 422
    assert "nothing was uploaded" in nothing.text


def test_an_expired_or_forged_link_is_refused(world: World, configured: Settings) -> None:
    if configured.s3_endpoint:
        pytest.skip("S3 checks its own signatures; the storage suite checks what we sign")
    forged = world.citizen.get("/attachments/download", params={"token": "forged"})
    assert forged.status_code == 403
    assert forged.headers["content-type"] == PROBLEM
    from storage.signed_urls import issue_download_token

    assert configured.secret_key is not None
    expired = issue_download_token(
        configured.secret_key, key="x/2026/01/y", filename="a.jpg", content_type="image/jpeg",
        ttl=timedelta(seconds=-1),
    )  # fmt: skip
    late = world.citizen.get("/attachments/download", params={"token": expired})
    assert late.status_code == 403
    assert "expired" in late.json()["detail"]


def test_answer_documents_reach_the_citizen_once_answered(world: World) -> None:
    desks = world.desks
    photo = upload(world, jpeg_with_gps()).json()
    receipt = world.submit(attachments=[{"id": photo["id"], "token": photo["token"]}])
    message = desks["moderator"].act(world.message_of(receipt), "accept").json()
    message = desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru").json()
    path = f"/api/v1/tenants/north-roads/messages/{message['id']}/answer-files"
    outsider = desks["other_executor"].client.post(
        path, params={"filename": "ответ.pdf"}, content=pdf_document(),
        headers={"X-CSRF-Token": desks["other_executor"].csrf},
    )  # fmt: skip
    assert outsider.status_code == 404
    added = desks["executor"].client.post(
        path, params={"filename": "ответ.pdf"}, content=pdf_document(),
        headers={"X-CSRF-Token": desks["executor"].csrf},
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert [f["purpose"] for f in world.timeline(receipt)["files"]] == ["request"]
    message = desks["executor"].act(message, "submit-answer", text="См. приложение").json()
    desks["approver"].act(message, "approve-answer")
    assert sorted(f["purpose"] for f in world.timeline(receipt)["files"]) == ["answer", "request"]


def test_forwarding_gives_the_receiver_its_own_copy(world: World) -> None:
    desks = world.desks
    photo = upload(world, jpeg_with_gps()).json()
    receipt = world.submit(attachments=[{"id": photo["id"], "token": photo["token"]}])
    message = desks["moderator"].act(world.message_of(receipt), "accept").json()
    desks["coordinator"].act(message, "forward", tenant="river", reason="Не наша дорога")
    river = world.message_of(receipt, "river")
    [copy] = desks["river"].client.get(f"/api/v1/tenants/river/messages/{river['id']}/files").json()
    assert copy["filename"] == PHOTO_NAME
    keys = [o.key for o in store_of(world).list("")]
    assert len(keys) == 2  # one object per tenant, each under its own prefix
    got = download(
        desks["river"].client,
        desks["river"].client.get(
            f"/api/v1/tenants/river/messages/{river['id']}/files/{copy['id']}",
            follow_redirects=False,
        ),
    )
    assert got.status_code == 200
    # The sender keeps its copy for the record.
    kept = desks["coordinator"].client.get(
        f"/api/v1/tenants/north-roads/messages/{message['id']}/files"
    )
    assert len(kept.json()) == 1


def test_the_sweeper_removes_what_no_message_took_and_retention_purges_old_files(
    world: World, clean_database: DatabaseUrls, configured: Settings
) -> None:
    upload(world, jpeg_with_gps())  # never sent
    store = store_of(world)
    stray = f"{uuid.uuid4()}/2026/01/{uuid.uuid4().hex}"
    store.put(stray, io.BytesIO(b"stray"), 5, "text/plain")
    photo = upload(world, jpeg_with_gps()).json()
    receipt = world.submit(attachments=[{"id": photo["id"], "token": photo["token"]}])

    def sweep(dry_run: bool) -> retention.SweepReport:
        report: retention.SweepReport = run_in_database(
            clean_database,
            lambda db: retention.sweep(
                db, open_store(storage_config(configured)),
                older_than=timedelta(0), dry_run=dry_run, actor="t",
                orphan_grace=timedelta(0),
            ),
        )  # fmt: skip
        return report

    planned = sweep(dry_run=True)
    assert (planned.abandoned_removed, planned.orphaned_objects) == (1, [stray])
    assert len(list(store.list(""))) == 3
    done = sweep(dry_run=False)
    assert done.missing_objects == []
    assert len(list(store.list(""))) == 1  # only the attached photo is left

    desks = world.desks
    message = desks["moderator"].act(world.message_of(receipt), "reject", ground="repeated",
                                     text="Уже рассмотрено").json()  # fmt: skip
    assert message["status"] == "rejected"

    def purge(dry_run: bool) -> retention.PurgeReport:
        report: retention.PurgeReport = run_in_database(
            clean_database,
            lambda db: retention.purge(
                db, open_store(storage_config(configured)),
                older_than=timedelta(0), dry_run=dry_run, actor="t",
            ),
        )  # fmt: skip
        return report

    assert purge(dry_run=True).files == 1
    assert len(list(store.list(""))) == 1
    assert purge(dry_run=False).files == 1
    assert list(store.list("")) == []

    async def audit(db: Database) -> Any:
        async with db.privileged_session() as session:
            return (
                await session.execute(
                    text("SELECT changes FROM audit_log WHERE action = 'attachments.purged'")
                )
            ).scalar_one()

    [gone] = run_in_database(clean_database, audit)["files"]
    assert (gone["filename"], gone["message"]) == (PHOTO_NAME, receipt["number"])


def test_a_storage_outage_during_an_upload_is_a_503_and_keeps_nothing(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> None:
    seed_message_world(clean_database, tenant_data)
    down = settings.model_copy(
        update={"s3_endpoint": "127.0.0.1:9", "s3_access_key": "a", "s3_secret_key": "b",
                "s3_secure": False}
    )  # fmt: skip
    with TestClient(create_app(down)) as client:
        response = client.post(
            "/api/v1/uploads",
            params={"topic": "pothole", "territory": "46701101", "filename": "a.jpg"},
            content=jpeg_with_gps(),
        )
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM
        assert "nothing was kept" in response.json()["detail"]

    async def count(db: Database) -> int:
        async with db.privileged_session() as session:
            return int(
                (await session.execute(text("SELECT count(*) FROM attachments"))).scalar_one()
            )

    assert run_in_database(clean_database, count) == 0
