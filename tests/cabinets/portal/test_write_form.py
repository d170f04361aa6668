"""The citizen's form on a phone: the camera offered for photos, the phone's coordinates
attached when the person allows it, and a legal entity's INN checked at the field."""

from __future__ import annotations

import re

from tests.cabinets.message_world import World
from tests.cabinets.test_message_form import PLACE, form_action, pothole_form
from tests.storage.samples import jpeg_with_gps

PHOTO = [("files", ("яма.jpg", jpeg_with_gps(), "image/jpeg"))]


def test_the_form_offers_the_camera_and_a_progressive_position_button(world: World) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    assert 'accept="image/*" capture="environment"' in form.text
    assert 'name="latitude"' in form.text
    assert re.search(r"data-locate hidden", form.text)  # shown only by the script
    assert '<script src="/static/portal.js" defer></script>' in form.text


def test_the_phones_coordinates_are_attached_to_the_message(world: World) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    sent = world.citizen.post(
        form_action(form), data=pothole_form(latitude="61.251234", longitude="73.401234"),
        files=PHOTO, follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    number = sent.headers["location"].split("/")[2].split("?")[0]
    message = world.message_of({"number": number})
    assert (message["latitude"], message["longitude"]) == (61.251234, 73.401234)


def test_a_legal_entity_with_a_bad_inn_is_named_at_the_field_and_nothing_is_stored(
    world: World,
) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    refused = world.citizen.post(
        form_action(form), data=pothole_form(organization="ООО Ромашка", inn="7707083894"),
        files=PHOTO,
    )  # fmt: skip
    assert refused.status_code == 422
    assert "ИНН организации: ИНН неверный" in refused.text
    assert 'value="7707083894"' in refused.text  # the form comes back filled in
    figures = world.citizen.get("/").text.replace("\n", "")
    assert "Поступило обращений</dt><dd>0</dd>" in figures
