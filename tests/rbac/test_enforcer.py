"""Who may do what: the role matrix, tenant boundaries, supervisors over subtrees, executors on
their own assignments, and a compiled index that never disagrees with casbin."""

import contextlib
import random

import pytest

from rbac.enforcer import CustomRoleRules, Grant, GrantRefused, PolicyEnforcer
from rbac.permissions import PERMISSIONS, UnknownPermission
from rbac.roles import PLATFORM_DOMAIN, UnknownRole

# The specification, written out independently of the role templates.
TENANT_MATRIX = {
    "admin": {"staff:manage", "tenant:settings", "template:edit", "message:read", "report:read"},
    "moderator": {"message:read", "message:moderate", "message:register", "message:comment"},
    "coordinator": {
        "message:read", "message:register", "message:assign", "message:forward",
        "message:extend", "message:comment", "report:read",
    },
    "executor": set(),  # everything it may do needs an assignment; see below
    "approver": {"message:read", "answer:approve", "message:comment", "report:read"},
    "supervisor": {"message:read", "report:read"},
    "viewer": {"message:read"},
}  # fmt: skip
EXECUTOR_ON_OWN = {"message:read", "message:comment", "answer:draft"}
PLATFORM_MATRIX = {
    "operator": {"catalog:edit", "routing:edit"},
    "regional_operator": {"catalog:edit", "routing:edit"},
    "platform_admin": {"tenant:provision", "staff:manage", "catalog:edit", "routing:edit"},
}

# region → municipality → school, and a sibling region
HIERARCHY = {"region": None, "mun": "region", "school": "mun", "other": None}


@pytest.fixture
def enforcer() -> PolicyEnforcer:
    policy = PolicyEnforcer()
    policy.set_hierarchy(HIERARCHY)
    return policy


def both(policy: PolicyEnforcer, *args: str, assigned: bool = False) -> bool:
    fast = policy.allowed(*args, assigned=assigned)
    assert fast == policy.casbin_allowed(*args, assigned=assigned), args
    return fast


@pytest.mark.parametrize("role", sorted(TENANT_MATRIX))
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_tenant_role_matrix(enforcer: PolicyEnforcer, role: str, permission: str) -> None:
    enforcer.grant(Grant("ann", role, "school"))
    assert both(enforcer, "ann", "school", permission) == (permission in TENANT_MATRIX[role])
    expected_own = permission in TENANT_MATRIX[role] or (
        role == "executor" and permission in EXECUTOR_ON_OWN
    )
    assert both(enforcer, "ann", "school", permission, assigned=True) == expected_own


@pytest.mark.parametrize("role", sorted(PLATFORM_MATRIX))
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_platform_role_matrix(enforcer: PolicyEnforcer, role: str, permission: str) -> None:
    enforcer.grant(Grant("op", role, PLATFORM_DOMAIN))
    assert both(enforcer, "op", PLATFORM_DOMAIN, permission) == (
        permission in PLATFORM_MATRIX[role]
    )
    assert not both(enforcer, "op", "school", permission)


def test_a_grant_in_one_tenant_gives_nothing_in_another(enforcer: PolicyEnforcer) -> None:
    enforcer.grant(Grant("ann", "admin", "school"))
    for permission in PERMISSIONS:
        assert not both(enforcer, "ann", "other", permission)
        assert not both(enforcer, "ann", "mun", permission)


def test_supervisor_reaches_grandchildren_never_siblings_or_parents(
    enforcer: PolicyEnforcer,
) -> None:
    enforcer.grant(Grant("sue", "supervisor", "region"))
    assert both(enforcer, "sue", "school", "message:read")
    assert both(enforcer, "sue", "mun", "report:read")
    assert not both(enforcer, "sue", "other", "message:read")
    assert not both(enforcer, "sue", "school", "message:moderate")

    enforcer.grant(Grant("max", "supervisor", "mun"))
    assert both(enforcer, "max", "school", "message:read")
    assert not both(enforcer, "max", "region", "message:read")


def test_only_subtree_rules_reach_down(enforcer: PolicyEnforcer) -> None:
    enforcer.grant(Grant("ann", "admin", "region"))
    assert both(enforcer, "ann", "region", "staff:manage")
    assert not both(enforcer, "ann", "school", "staff:manage")
    assert not both(enforcer, "ann", "school", "message:read")


def test_revoke_removes_exactly_that_grant(enforcer: PolicyEnforcer) -> None:
    enforcer.load(
        [
            Grant("ann", "moderator", "school"),
            Grant("ann", "viewer", "school"),
            Grant("ann", "moderator", "mun"),
            Grant("bob", "moderator", "school"),
        ]
    )
    assert enforcer.revoke(Grant("ann", "moderator", "school"))
    assert not both(enforcer, "ann", "school", "message:moderate")
    assert both(enforcer, "ann", "school", "message:read")
    assert both(enforcer, "ann", "mun", "message:moderate")
    assert both(enforcer, "bob", "school", "message:moderate")
    assert not enforcer.revoke(Grant("ann", "moderator", "school"))


def test_explain_names_the_chain(enforcer: PolicyEnforcer) -> None:
    enforcer.grant(Grant("sue", "supervisor", "region"))
    enforcer.grant(Grant("eve", "executor", "school"))
    decision = enforcer.explain("sue", "school", "report:read")
    assert decision.allowed
    assert decision.chain == [
        "grant: sue holds role supervisor in region",
        "hierarchy: school lies under region",
        "rule: supervisor may report:read (reach: subtree)",
    ]
    refused = enforcer.explain("eve", "school", "answer:draft")
    assert not refused.allowed
    assert "executor may answer:draft only on resources assigned to them" in refused.chain
    nobody = enforcer.explain("zed", "school", "message:read")
    assert nobody.chain[0] == "zed holds no role in school"


def test_bad_grants_are_refused(enforcer: PolicyEnforcer) -> None:
    with pytest.raises(UnknownRole, match="'boss'"):
        enforcer.grant(Grant("ann", "boss", "school"))
    with pytest.raises(GrantRefused, match="platform role"):
        enforcer.grant(Grant("ann", "operator", "school"))
    with pytest.raises(GrantRefused, match="granted in a tenant"):
        enforcer.grant(Grant("ann", "viewer", PLATFORM_DOMAIN))
    with pytest.raises(UnknownPermission):
        enforcer.explain("ann", "school", "message:delete")


def test_index_never_disagrees_with_casbin() -> None:
    """Random hierarchies, grants and revocations; thousands of random questions."""
    rng = random.Random(20261123)
    tenants = [f"t{i}" for i in range(60)]
    parents: dict[str, str | None] = {"t0": None}
    for i, tenant in enumerate(tenants[1:], start=1):
        parents[tenant] = rng.choice(tenants[:i]) if rng.random() < 0.9 else None
    users = [f"u{i}" for i in range(25)]
    tenant_roles = sorted(TENANT_MATRIX)
    policy = PolicyEnforcer()
    policy.set_hierarchy(parents)
    held: list[Grant] = []
    for step in range(4000):
        if step % 10 == 0:
            if held and rng.random() < 0.35:
                policy.revoke(held.pop(rng.randrange(len(held))))
            else:
                grant = Grant(rng.choice(users), rng.choice(tenant_roles), rng.choice(tenants))
                if policy.grant(grant):
                    held.append(grant)
        user, tenant = rng.choice(users), rng.choice(tenants)
        permission = rng.choice(sorted(PERMISSIONS))
        assigned = rng.random() < 0.5
        assert policy.allowed(user, tenant, permission, assigned=assigned) == (
            policy.casbin_allowed(user, tenant, permission, assigned=assigned)
        ), (step, user, tenant, permission, assigned)


def random_tree(rng: random.Random, size: int) -> tuple[list[str], dict[str, str | None]]:
    """``size`` tenants under one root, each under a random earlier one."""
    tenants = [f"t{i}" for i in range(size)]
    parents: dict[str, str | None] = {"t0": None}
    for i, tenant in enumerate(tenants[1:], start=1):
        parents[tenant] = rng.choice(tenants[:i])
    return tenants, parents


def test_index_never_disagrees_with_casbin_with_custom_roles_statuses_and_deactivations() -> None:
    """The same, with tenants' custom roles defined and redefined, cabinets suspended and
    archived, and people deactivated along the way."""
    rng = random.Random(7)
    tenants, parents = random_tree(rng, 30)
    users = [f"u{i}" for i in range(12)]
    permissions = sorted(PERMISSIONS)
    tenant_permissions = [p for p in permissions if p not in PLATFORM_MATRIX["platform_admin"]]
    policy = PolicyEnforcer()
    policy.set_hierarchy(parents)
    custom: dict[str, list[str]] = {}
    for step in range(3000):
        if step % 15 == 0:
            action = rng.random()
            tenant = rng.choice(tenants)
            if action < 0.3:
                name = rng.choice(["clerk", "auditor"])
                policy.define_role(
                    CustomRoleRules(tenant, name, tuple(rng.sample(tenant_permissions, 3)))
                )
                custom.setdefault(tenant, []).append(name)
            elif action < 0.7:
                roles = sorted(TENANT_MATRIX) + custom.get(tenant, [])
                policy.grant(Grant(rng.choice(users), rng.choice(roles), tenant))
            elif action < 0.85:
                status = rng.choice(["active", "suspended", "archived"])
                policy.set_tenant(tenant, parents[tenant], status)
            else:
                policy.set_user_active(rng.choice(users), rng.random() < 0.5)
        user, tenant = rng.choice(users), rng.choice(tenants)
        permission = rng.choice(permissions)
        assigned = rng.random() < 0.5
        assert policy.allowed(user, tenant, permission, assigned=assigned) == (
            policy.casbin_allowed(user, tenant, permission, assigned=assigned)
        ), (step, user, tenant, permission, assigned)


def test_casbin_built_late_holds_what_the_index_holds() -> None:
    """casbin is built when first asked; grants, revocations and custom roles changed before
    then must all be in it."""
    rng = random.Random(11)
    tenants, parents = random_tree(rng, 20)
    users = [f"u{i}" for i in range(10)]
    policy = PolicyEnforcer()
    policy.set_hierarchy(parents)
    held: list[Grant] = []
    for step in range(600):
        tenant = rng.choice(tenants)
        if step % 7 == 0:
            permissions = tuple(rng.sample(sorted(TENANT_MATRIX["coordinator"]), 2))
            policy.define_role(CustomRoleRules(tenant, "clerk", permissions))
        elif held and rng.random() < 0.3:
            policy.revoke(held.pop(rng.randrange(len(held))))
        else:
            role = rng.choice([*sorted(TENANT_MATRIX), "clerk"])
            grant = Grant(rng.choice(users), role, tenant)
            with contextlib.suppress(UnknownRole):
                if policy.grant(grant):
                    held.append(grant)
    for user in users:
        for tenant in tenants:
            for permission in sorted(PERMISSIONS):
                both(policy, user, tenant, permission, assigned=rng.random() < 0.5)
