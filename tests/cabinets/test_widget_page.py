"""The administrator takes the organization's «Сообщить о проблеме» button for its own site
from the cabinet: the code, with the button's own words if they like; another organization's
widget page is not found."""

from __future__ import annotations

from html import unescape

from tenancy.settings import Settings
from tests.cabinets.message_world import World

PAGE = "/cabinet/north-roads/widget"


def test_the_widget_page_gives_the_code_to_paste(world: World, settings: Settings) -> None:
    page = world.desks["admin"].client.get(PAGE)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    code = unescape(page.text)
    assert f'<script src="{settings.base_url}/widget/north-roads.js" async></script>' in code
    assert f'<a href="{settings.base_url}/write?to=north-roads">Сообщить о проблеме</a>' in code
    assert "readonly" in page.text
    assert 'src="/widget/north-roads.js"' in page.text  # the preview is the real widget


def test_the_buttons_words_are_the_organizations_own_and_escaped(world: World) -> None:
    page = world.desks["admin"].client.get(PAGE, params={"label": 'Сообщить о яме "срочно"'})
    assert page.status_code == 200
    # The code shown holds the words escaped for the organization's HTML.
    assert 'data-label="Сообщить о яме &quot;срочно&quot;" async' in unescape(page.text)
    too_long = world.desks["admin"].client.get(PAGE, params={"label": "я" * 61})
    assert too_long.status_code == 422
    assert "Надпись на кнопке: слишком длинно: не больше 60 знаков" in too_long.text


def test_another_organizations_widget_page_is_not_found(world: World) -> None:
    assert world.desks["admin"].client.get("/cabinet/river/widget").status_code == 404
    assert world.desks["coordinator"].client.get(PAGE).status_code == 403
