"""Russian organization identifiers: INN (taxpayer number) and OGRN (state registration number).

Check digits per the Federal Tax Service rules: a typo in one digit is caught here, not months
later in a document-management system.
"""

from __future__ import annotations

from operator import mul

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    # map rather than a generator: a national manifest checks 200,000 of them.
    total: int = sum(map(mul, map(int, digits), weights))
    return total % 11 % 10


def inn_problem(inn: str) -> str | None:
    """Why ``inn`` is not a valid INN, or None when it is."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return "must be 10 digits (organization) or 12 digits (individual)"
    if len(inn) == 10:
        ok = _check_digit(inn[:9], _INN10_WEIGHTS) == int(inn[9])
    else:
        ok = _check_digit(inn[:10], _INN12_WEIGHTS_11) == int(inn[10]) and _check_digit(
            inn[:11], _INN12_WEIGHTS_12
        ) == int(inn[11])
    return None if ok else "check digit does not match (a mistyped digit?)"


def ogrn_problem(ogrn: str) -> str | None:
    """Why ``ogrn`` is not a valid OGRN (13 digits) or OGRNIP (15 digits), or None."""
    if not ogrn.isdigit() or len(ogrn) not in (13, 15):
        return "must be 13 digits (OGRN) or 15 digits (OGRNIP)"
    modulus = 11 if len(ogrn) == 13 else 13
    ok = int(ogrn[:-1]) % modulus % 10 == int(ogrn[-1])
    return None if ok else "check digit does not match (a mistyped digit?)"


def inn_with_check_digits(prefix: str) -> str:
    """Complete a 9-digit prefix into a valid 10-digit INN (for demo and generated data)."""
    return prefix + str(_check_digit(prefix, _INN10_WEIGHTS))


def ogrn_with_check_digit(prefix: str) -> str:
    """Complete a 12-digit prefix into a valid 13-digit OGRN (for demo and generated data)."""
    return prefix + str(int(prefix) % 11 % 10)
