"""Role templates shared by every tenant, so that the casbin ``p`` rules stay few.

Each grant of a permission has a *reach*:

* ``tenant``: in the tenant the role is granted in;
* ``subtree``: there and in every descendant tenant (grandchildren included, siblings never);
* ``own``: only on the resources assigned to the person (an executor's messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rbac.permissions import get_permission

PLATFORM_DOMAIN = "platform"


class Reach(StrEnum):
    TENANT = "tenant"
    SUBTREE = "subtree"
    OWN = "own"


class RoleScope(StrEnum):
    TENANT = "tenant"
    PLATFORM = "platform"


@dataclass(frozen=True)
class RoleTemplate:
    name: str
    description: str
    scope: RoleScope
    grants: tuple[tuple[str, Reach], ...]

    def rules(self) -> list[list[str]]:
        """The casbin ``p`` rules of this role: ``[role, object, action, reach]``."""
        rules = []
        for name, reach in self.grants:
            permission = get_permission(name)
            rules.append([self.name, permission.object, permission.action, reach.value])
        return rules


def _tenant(
    name: str, description: str, *permissions: str, reach: Reach = Reach.TENANT
) -> RoleTemplate:
    return RoleTemplate(name, description, RoleScope.TENANT, tuple((p, reach) for p in permissions))


ROLE_TEMPLATES: dict[str, RoleTemplate] = {
    r.name: r
    for r in (
        _tenant(
            "admin",
            "Cabinet administrator: staff, roles, settings, answer templates.",
            "staff:manage",
            "tenant:settings",
            "template:edit",
            "message:read",
            "report:read",
        ),
        _tenant(
            "moderator",
            "Moderates incoming messages and registers them.",
            "message:read",
            "message:moderate",
            "message:register",
            "message:comment",
        ),
        _tenant(
            "coordinator",
            "Distributes messages to executors, forwards and extends them.",
            "message:read",
            "message:register",
            "message:assign",
            "message:forward",
            "message:extend",
            "message:comment",
            "report:read",
        ),
        RoleTemplate(
            "executor",
            "Prepares answers to the messages assigned to them.",
            RoleScope.TENANT,
            (
                ("message:read", Reach.OWN),
                ("message:comment", Reach.OWN),
                ("answer:draft", Reach.OWN),
            ),
        ),
        _tenant(
            "approver",
            "Approves answers for publication or returns them.",
            "message:read",
            "answer:approve",
            "message:comment",
            "report:read",
        ),
        _tenant(
            "supervisor",
            "Reads messages and reports of the tenant and all its descendants.",
            "message:read",
            "report:read",
            reach=Reach.SUBTREE,
        ),
        _tenant("viewer", "Reads the tenant's messages.", "message:read"),
        RoleTemplate(
            "operator",
            "Federal operator: topic catalog, territories, routing table.",
            RoleScope.PLATFORM,
            (("catalog:edit", Reach.TENANT), ("routing:edit", Reach.TENANT)),
        ),
        RoleTemplate(
            "regional_operator",
            "Operator of named regions: their regional topics and the routing rules on their "
            "territories.",
            RoleScope.PLATFORM,
            (("catalog:edit", Reach.TENANT), ("routing:edit", Reach.TENANT)),
        ),
        RoleTemplate(
            "platform_admin",
            "Platform administrator: provisions tenants and their staff.",
            RoleScope.PLATFORM,
            (
                ("tenant:provision", Reach.TENANT),
                ("staff:manage", Reach.TENANT),
                ("catalog:edit", Reach.TENANT),
                ("routing:edit", Reach.TENANT),
            ),
        ),
    )
}


class UnknownRole(ValueError):
    def __init__(self, name: str) -> None:
        known = ", ".join(ROLE_TEMPLATES)
        super().__init__(
            f"unknown role {name!r} (templates: {known}; or a custom role of the tenant)"
        )
        self.name = name


def get_role(name: str) -> RoleTemplate:
    try:
        return ROLE_TEMPLATES[name]
    except KeyError:
        raise UnknownRole(name) from None
