"""A citizen's message sent from the browser's side, for pages that need one to show."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page

from tests.cabinets.message_world import POTHOLE
from tests.storage.samples import jpeg_with_gps


def submit_a_message(page: Page, site: str) -> dict[str, Any]:
    """A pothole report with its photo, sent as the citizen's browser sends it; it goes to
    north-roads."""
    uploaded = page.request.post(
        f"{site}/api/v1/uploads",
        params={"topic": "pothole", "territory": str(POTHOLE["territory"]), "filename": "яма.jpg"},
        data=jpeg_with_gps(),
    )
    assert uploaded.status == 201, uploaded.text()
    photo = {"id": uploaded.json()["id"], "token": uploaded.json()["token"]}
    response = page.request.post(
        f"{site}/api/v1/messages",
        data=json.dumps(POTHOLE | {"attachments": [photo]}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()
    receipt: dict[str, Any] = response.json()
    assert receipt["organization"] == "Organization north-roads", receipt
    return receipt
