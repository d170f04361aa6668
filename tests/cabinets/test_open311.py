"""Open311 GeoReport v2: a city app lists a territory's topics and their extra questions, files
a message (with photos as media parts) and follows it with the token it got back; every
refusal is in the specification's error shape and names the Open311 parameter."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import World
from tests.databases import run_in_database
from tests.storage.samples import jpeg_with_gps

PLACE = "46701101"
QUESTIONS = [
    {"code": "depth", "title": "Глубина ямы, см", "type": "number", "required": True},
    {"code": "lane", "title": "Где", "type": "single", "choices": ["дорога", "тротуар"]},
]
POTHOLE_REQUEST = {
    "jurisdiction_id": PLACE,
    "service_code": "pothole",
    "description": "Яма на дороге у дома 5\nГлубокая, машины объезжают по встречной.",
    "address_string": "посёлок Северный, ул. Лесная, 5",
    "first_name": "Иван",
    "last_name": "Петров",
    "email": "ivan@mail.example.ru",
    "consent": "true",
    "attribute[depth]": "25",
    "attribute[lane]": "дорога",
}
PHOTO = [("media", ("яма.jpg", jpeg_with_gps(), "image/jpeg"))]


@pytest.fixture
def asking(world: World, clean_database: DatabaseUrls) -> World:
    """The pothole topic asks two extra questions."""

    async def ask(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text("UPDATE catalog_topics SET fields = CAST(:f AS jsonb) WHERE code = 'pothole'"),
                {"f": json.dumps(QUESTIONS, ensure_ascii=False)},
            )

    run_in_database(clean_database, ask)
    return world


def errors(response: Any, status: int) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert all(e["code"] == status for e in body)
    return [e["description"] for e in body]


def test_services_are_the_topics_of_the_jurisdiction(asking: World) -> None:
    listed = asking.citizen.get("/open311/v2/services.json", params={"jurisdiction_id": PLACE})
    assert listed.status_code == 200
    services = {s["service_code"]: s for s in listed.json()}
    assert services["pothole"] == {
        "service_code": "pothole", "service_name": "Яма на дороге", "description": "",
        "metadata": True, "type": "realtime", "keywords": "яма,асфальт", "group": "roads.repair",
    }  # fmt: skip
    assert services["snow"]["metadata"] is False
    [missing] = errors(asking.citizen.get("/open311/v2/services.json"), 400)
    assert missing.startswith("jurisdiction_id: required")
    [unknown] = errors(
        asking.citizen.get("/open311/v2/services.json", params={"jurisdiction_id": "99999999"}),
        400,
    )
    assert unknown.startswith("jurisdiction_id:")


def test_a_service_definition_lists_the_topics_questions(asking: World) -> None:
    defined = asking.citizen.get(
        "/open311/v2/services/pothole.json", params={"jurisdiction_id": PLACE}
    )
    assert defined.status_code == 200
    assert defined.json() == {
        "service_code": "pothole",
        "attributes": [
            {"variable": True, "code": "depth", "datatype": "number", "required": True,
             "datatype_description": "", "order": 1, "description": "Глубина ямы, см"},
            {"variable": True, "code": "lane", "datatype": "singlevaluelist", "required": False,
             "datatype_description": "", "order": 2, "description": "Где",
             "values": [{"key": "дорога", "name": "дорога"},
                        {"key": "тротуар", "name": "тротуар"}]},
        ],
    }  # fmt: skip
    errors(
        asking.citizen.get("/open311/v2/services/ufo.json", params={"jurisdiction_id": PLACE}),
        404,
    )


def test_a_request_is_filed_with_its_photo_and_followed_with_its_token(asking: World) -> None:
    filed = asking.citizen.post("/open311/v2/requests.json", data=POTHOLE_REQUEST, files=PHOTO)
    assert filed.status_code == 201, filed.text
    [receipt] = filed.json()
    assert receipt["service_notice"].startswith("received by")
    number, token = receipt["service_request_id"], receipt["token"]
    message = asking.message_of({"number": number})
    assert message["tenant"] == "north-roads"
    assert message["summary"] == "Яма на дороге у дома 5"
    assert message["fields"] == {"depth": 25, "lane": "дорога"}
    assert message["applicant"]["name"] == "Иван Петров"

    followed = asking.citizen.get(f"/open311/v2/requests/{number}.json", params={"token": token})
    assert followed.status_code == 200
    [status] = followed.json()
    assert status["service_request_id"] == number
    assert (status["status"], status["service_code"]) == ("open", "pothole")
    assert status["service_name"] == "Яма на дороге"
    assert status["status_notes"] == "Поступило"
    assert status["agency_responsible"]
    assert status["requested_datetime"] <= status["updated_datetime"]
    wrong = asking.citizen.get(f"/open311/v2/requests/{number}.json", params={"token": "x"})
    errors(wrong, 404)


def test_bad_requests_are_refused_naming_the_open311_parameter(asking: World) -> None:
    def refused(changes: dict[str, str], files: Any = PHOTO) -> list[str]:
        body = {k: v for k, v in (POTHOLE_REQUEST | changes).items() if v != ""}
        return errors(asking.citizen.post("/open311/v2/requests.json", data=body, files=files), 400)

    no_consent = refused({"consent": ""})
    assert no_consent == ["consent: consent to the processing of personal data is required"]
    assert refused({"attribute[depth]": ""}) == ["attribute[depth]: required (Глубина ямы, см)"]
    assert refused({"email": ""})[0].startswith("email: give an e-mail or a phone number")
    assert refused({"media_url": "http://169.254.169.254/latest"})[0].startswith("media_url:")
    no_photo = refused({}, files=None)
    assert no_photo == ["media: this topic needs a photo of the problem"]
    fake = [("media", ("яма.jpg", b"MZ\x90\x00" + b"\x00" * 100, "image/jpeg"))]
    assert refused({}, files=fake)[0].startswith("media: яма.jpg:")
    assert refused({"service_code": "ufo"})[0].startswith("service_code:")
    assert refused({"service_code": "ufo"}, files=None) == [
        "service_code: 'ufo' is not a service of this jurisdiction"
    ]
    assert refused({"attribute[colour]": "red"}) == [
        "attribute[colour]: this topic asks no such question"
    ]


def test_every_answer_comes_in_xml_too(asking: World) -> None:
    listed = asking.citizen.get("/open311/v2/services.xml", params={"jurisdiction_id": PLACE})
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("text/xml")
    services = ElementTree.fromstring(listed.content)  # noqa: S314 (our own answer)
    assert services.tag == "services"
    pothole = next(s for s in services if s.findtext("service_code") == "pothole")
    assert pothole.findtext("service_name") == "Яма на дороге"
    assert pothole.findtext("metadata") == "true"
    defined = ElementTree.fromstring(  # noqa: S314
        asking.citizen.get(
            "/open311/v2/services/pothole.xml", params={"jurisdiction_id": PLACE}
        ).content
    )
    lane = defined.findall("attributes/attribute")[1]
    assert [v.findtext("key") for v in lane.findall("values/value")] == ["дорога", "тротуар"]

    filed = asking.citizen.post("/open311/v2/requests.xml", data=POTHOLE_REQUEST, files=PHOTO)
    assert filed.status_code == 201, filed.text
    number = ElementTree.fromstring(filed.content).findtext("request/service_request_id")  # noqa: S314
    assert number
    refused = asking.citizen.get("/open311/v2/requests/" + number + ".xml")
    assert refused.status_code == 404
    error = ElementTree.fromstring(refused.content)  # noqa: S314
    assert (error.tag, error.findtext("error/code")) == ("errors", "404")
    assert asking.citizen.get("/open311/v2/services.yaml").status_code == 404
