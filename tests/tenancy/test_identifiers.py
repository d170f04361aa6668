"""INN and OGRN check digits catch a mistyped digit."""

import pytest

from tenancy.tenants.identifiers import (
    inn_problem,
    inn_with_check_digits,
    ogrn_problem,
    ogrn_with_check_digit,
)


@pytest.mark.parametrize(
    "inn",
    [
        "7707083893",  # a well-known organization's INN
        "500100732259",  # a well-known individual's INN
        inn_with_check_digits("990000001"),
    ],
)
def test_valid_inn_is_accepted(inn: str) -> None:
    assert inn_problem(inn) is None


@pytest.mark.parametrize(
    ("inn", "reason"),
    [
        ("7707083894", "check digit"),
        ("500100732258", "check digit"),
        ("770708389", "10 digits"),
        ("77070838931", "10 digits"),
        ("77070838a3", "10 digits"),
        ("", "10 digits"),
    ],
)
def test_invalid_inn_is_refused_with_the_reason(inn: str, reason: str) -> None:
    problem = inn_problem(inn)
    assert problem is not None
    assert reason in problem


def test_ogrn_and_ogrnip_check_digits() -> None:
    assert ogrn_problem("1027700132195") is None
    assert ogrn_problem("304500116000157") is None
    assert ogrn_problem(ogrn_with_check_digit("102990000001")) is None
    assert "check digit" in (ogrn_problem("1027700132196") or "")
    assert "13 digits" in (ogrn_problem("10277001321") or "")
