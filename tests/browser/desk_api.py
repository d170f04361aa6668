"""Another person at work while the browser looks on: citizens' messages and staff actions
sent through the JSON API of the served app (as a second person's program would)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from tests.cabinets.message_world import PASSWORD, POTHOLE, STAFF
from tests.storage.samples import jpeg_with_gps

TENANT = "north-roads"


def submit(site: str, n: int) -> list[str]:
    """``n`` pothole reports from different citizens (intake limits count per applicant);
    their tracking numbers."""
    numbers = []
    with httpx2.Client(base_url=site) as client:
        for k in range(n):
            upload = client.post(
                "/api/v1/uploads",
                params={"topic": "pothole", "territory": "46701101", "filename": "яма.jpg"},
                content=jpeg_with_gps(),
            )
            assert upload.status_code == 201, upload.text
            photo = {"id": upload.json()["id"], "token": upload.json()["token"]}
            sent = client.post(
                "/api/v1/messages",
                json=POTHOLE | {
                    "summary": f"Яма у дома {k + 1}",
                    "applicant": {"name": f"Житель {k}", "email": f"citizen{k}@mail.example.ru"},
                    "attachments": [photo],
                },
            )  # fmt: skip
            assert sent.status_code == 201, sent.text
            numbers.append(sent.json()["number"])
    return numbers


@dataclass
class Colleague:
    """A member of staff signed in through the API."""

    client: httpx2.Client
    csrf: str

    def find(self, number: str) -> dict[str, Any]:
        found = self.client.get(f"/api/v1/tenants/{TENANT}/messages", params={"number": number})
        assert found.status_code == 200, found.text
        (message,) = found.json()["items"]
        result: dict[str, Any] = message
        return result

    def act(self, number: str, action: str, **body: Any) -> dict[str, Any]:
        message = self.find(number)
        done = self.client.post(
            f"/api/v1/tenants/{TENANT}/messages/{message['id']}/{action}",
            json={"version": message["version"], **body},
            headers={"X-CSRF-Token": self.csrf},
        )
        assert done.status_code == 200, done.text
        result: dict[str, Any] = done.json()
        return result


def colleague(site: str, role: str) -> Colleague:
    client = httpx2.Client(base_url=site)
    signed = client.post("/auth/sign-in", json={"email": STAFF[role][0], "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return Colleague(client, signed.json()["csrf_token"])


def registered(site: str, n: int) -> list[str]:
    """``n`` messages the moderator has accepted; their numbers."""
    numbers = submit(site, n)
    moderator = colleague(site, "moderator")
    for number in numbers:
        moderator.act(number, "accept")
    return numbers
