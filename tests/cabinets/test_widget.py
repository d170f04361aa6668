"""An organization's widget on its own site: a script that puts a «Сообщить о проблеме» link
where its tag stands, opening the organization's own form, which offers only the places where
it answers and the topics it answers there."""

from __future__ import annotations

import re

from tenancy.settings import Settings
from tests.cabinets.message_world import World
from tests.cabinets.test_message_form import form_action, pothole_form
from tests.storage.samples import jpeg_with_gps


def test_the_widget_script_links_to_the_organizations_form(
    world: World, settings: Settings
) -> None:
    script = world.citizen.get("/widget/north-roads.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert f'"{settings.base_url}/write?to=north-roads"' in script.text
    assert "Сообщить о проблеме" in script.text
    assert "max-age" in script.headers["cache-control"]
    unknown = world.citizen.get("/widget/atlantis.js")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "text/javascript; charset=utf-8"


def test_the_organizations_form_offers_only_what_it_answers(world: World) -> None:
    # North's roads service answers potholes in one settlement: the form starts at its topics.
    own = world.citizen.get("/write", params={"to": "north-roads"})
    assert own.status_code == 200
    assert "В организацию:" in own.text
    assert "Яма на дороге" in own.text
    assert "Неубранный снег" not in own.text  # the municipality answers snow there
    assert "&amp;to=north-roads" in own.text
    # The region answers any topic on its own territory (nearer rules take theirs below it);
    # its form starts with where, since the region has districts and villages inside.
    regional = world.citizen.get("/write", params={"to": "region"})
    assert "Демонстрационная область" in regional.text
    fair = world.citizen.get("/write", params={"to": "region", "territory": "46000000"})
    assert "Ярмарка (областная тема)" in fair.text
    assert "&amp;to=region" in fair.text
    nobody = world.citizen.get("/write", params={"to": "atlantis"})
    assert nobody.status_code == 404
    assert "Организация не найдена" in nobody.text


def test_a_message_written_through_the_widget_reaches_its_organization(world: World) -> None:
    topics = world.citizen.get("/write", params={"to": "north-roads"})
    link = re.search(r'href="(/write\?territory=[^"]+topic=pothole[^"]*)"', topics.text)
    assert link, topics.text
    form = world.citizen.get(link[1].replace("&amp;", "&"))
    assert "to=north-roads" in form_action(form)
    sent = world.citizen.post(
        form_action(form),
        data=pothole_form(),
        files=[("files", ("яма.jpg", jpeg_with_gps(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    number = re.search(r"/track/([0-9-]+)", sent.headers["location"])
    assert number
    assert world.message_of({"number": number[1]})["tenant"] == "north-roads"


def test_a_municipalitys_form_finds_the_village_inside_its_territory(world: World) -> None:
    own = world.citizen.get("/write", params={"to": "north"})
    assert own.status_code == 200
    assert "Северный городской округ" in own.text
    assert 'name="to" value="north"' in own.text  # the search stays within the organization
    village = world.citizen.get("/write", params={"to": "north", "q": "село"})
    assert "село Заречное" in village.text
    assert 'href="/write?territory=46701102&amp;to=north"' in village.text
    elsewhere = world.citizen.get("/write", params={"to": "north", "q": "Речная"})
    assert "деревня Речная" not in elsewhere.text  # the river district's
    assert "такого места нет" in elsewhere.text
    # In the settlement whose road service takes potholes, the municipality offers the rest.
    settlement = world.citizen.get("/write", params={"to": "north", "territory": "46701101"})
    assert "Неубранный снег" in settlement.text
    assert "Яма на дороге" not in settlement.text
    village_topics = world.citizen.get("/write", params={"to": "north", "territory": "46701102"})
    assert "Яма на дороге" in village_topics.text
