"""Permission checks: casbin is the source of truth; a compiled index answers the hot path.

casbin evaluates ``enforce`` by running its matcher over the ``p`` rules, which costs hundreds of
microseconds per call at our scale. The index keeps, per (user, domain), the permissions their
roles give with each permission's reach, updated incrementally on every grant and revoke; a
differential test proves the two never disagree. ``explain`` runs casbin and reports the chain.

Domains are tenant ids (as strings) or ``platform`` for platform roles. The tenant hierarchy is
handed in by the caller (``set_hierarchy``); this package looks nothing up itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import casbin
from casbin.model import Model

from rbac.permissions import get_permission
from rbac.roles import PLATFORM_DOMAIN, ROLE_TEMPLATES, Reach, RoleScope, get_role

MODEL_TEXT = """
[request_definition]
r = sub, dom, obj, act, via, own

[policy_definition]
p = sub, obj, act, reach

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.obj == p.obj && r.act == p.act && \
((r.via == "tenant" && (p.reach != "own" || r.own == "yes")) || \
(r.via == "subtree" && p.reach == "subtree"))
"""

_REACHES_HERE = frozenset({Reach.TENANT, Reach.SUBTREE})


class GrantRefused(ValueError):
    """A grant that cannot be made as asked (wrong scope for the role)."""


@dataclass(frozen=True)
class Grant:
    user: str
    role: str
    domain: str

    def check(self) -> None:
        role = get_role(self.role)
        if role.scope is RoleScope.PLATFORM and self.domain != PLATFORM_DOMAIN:
            raise GrantRefused(f"role {self.role!r} is a platform role; grant it on 'platform'")
        if role.scope is RoleScope.TENANT and self.domain == PLATFORM_DOMAIN:
            raise GrantRefused(f"role {self.role!r} is granted in a tenant, not on 'platform'")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    chain: list[str] = field(default_factory=list)


def _role_reaches() -> dict[str, dict[str, frozenset[Reach]]]:
    table: dict[str, dict[str, set[Reach]]] = {}
    for role in ROLE_TEMPLATES.values():
        for permission, reach in role.grants:
            table.setdefault(role.name, {}).setdefault(permission, set()).add(reach)
    return {r: {p: frozenset(s) for p, s in perms.items()} for r, perms in table.items()}


class PolicyEnforcer:
    def __init__(self) -> None:
        model = Model()
        model.load_model_from_text(MODEL_TEXT)
        self.casbin = casbin.Enforcer(model)
        self.casbin.add_policies([rule for r in ROLE_TEMPLATES.values() for rule in r.rules()])
        self._role_reaches = _role_reaches()
        self._roles: dict[tuple[str, str], set[str]] = {}
        self._index: dict[tuple[str, str], dict[str, frozenset[Reach]]] = {}
        self._subtree_users: dict[str, int] = {}
        self._parents: dict[str, str | None] = {}

    # --- changes ---------------------------------------------------------------------------

    def set_hierarchy(self, parents: Mapping[str, str | None]) -> None:
        """Tenant id → parent tenant id, for roles that reach a subtree."""
        self._parents = dict(parents)

    def load(self, grants: Iterable[Grant]) -> int:
        """Add many grants at once (casbin's bulk path); return how many were new."""
        new = []
        for grant in grants:
            grant.check()
            if grant.role not in self._roles.get((grant.user, grant.domain), ()):
                new.append(grant)
                self._roles.setdefault((grant.user, grant.domain), set()).add(grant.role)
        if new:
            self.casbin.add_named_grouping_policies("g", [[g.user, g.role, g.domain] for g in new])
            for key in {(g.user, g.domain) for g in new}:
                self._compile(*key)
        return len(new)

    def grant(self, grant: Grant) -> bool:
        return self.load([grant]) == 1

    def revoke(self, grant: Grant) -> bool:
        roles = self._roles.get((grant.user, grant.domain))
        if not roles or grant.role not in roles:
            return False
        roles.discard(grant.role)
        self.casbin.remove_named_grouping_policy("g", grant.user, grant.role, grant.domain)
        self._compile(grant.user, grant.domain)
        return True

    def _compile(self, user: str, domain: str) -> None:
        key = (user, domain)
        had_subtree = any(Reach.SUBTREE in r for r in self._index.get(key, {}).values())
        merged: dict[str, set[Reach]] = {}
        for role in self._roles.get(key, ()):
            for permission, reaches in self._role_reaches[role].items():
                merged.setdefault(permission, set()).update(reaches)
        if merged:
            self._index[key] = {p: frozenset(r) for p, r in merged.items()}
        else:
            self._index.pop(key, None)
            self._roles.pop(key, None)
        has_subtree = any(Reach.SUBTREE in r for r in merged.values())
        if has_subtree != had_subtree:
            count = self._subtree_users.get(user, 0) + (1 if has_subtree else -1)
            if count:
                self._subtree_users[user] = count
            else:
                self._subtree_users.pop(user, None)

    # --- checks ----------------------------------------------------------------------------

    def allowed(self, user: str, domain: str, permission: str, *, assigned: bool = False) -> bool:
        """The hot path: dictionary lookups only, plus a walk up the hierarchy for supervisors."""
        here = self._index.get((user, domain))
        if here is not None:
            reaches = here.get(permission)
            if reaches is not None and (
                not reaches.isdisjoint(_REACHES_HERE) or (assigned and Reach.OWN in reaches)
            ):
                return True
        if user not in self._subtree_users:
            return False
        ancestor = self._parents.get(domain)
        while ancestor is not None:
            above = self._index.get((user, ancestor))
            if above is not None and Reach.SUBTREE in above.get(permission, ()):
                return True
            ancestor = self._parents.get(ancestor)
        return False

    def casbin_allowed(
        self, user: str, domain: str, permission: str, *, assigned: bool = False
    ) -> bool:
        """The same question answered by casbin alone (the reference for the index)."""
        return self.explain(user, domain, permission, assigned=assigned).allowed

    def explain(
        self, user: str, domain: str, permission: str, *, assigned: bool = False
    ) -> Decision:
        """Ask casbin, and say which grant, role and rule decided (or why nothing matched)."""
        perm = get_permission(permission)
        own = "yes" if assigned else "no"
        candidates = [(domain, "tenant")]
        ancestor = self._parents.get(domain)
        while ancestor is not None:
            candidates.append((ancestor, "subtree"))
            ancestor = self._parents.get(ancestor)
        for where, via in candidates:
            ok, rule = self.casbin.enforce_ex(user, where, perm.object, perm.action, via, own)
            if ok:
                role, obj, act, reach = rule
                chain = [
                    f"grant: {user} holds role {role} in {where}",
                    f"rule: {role} may {obj}:{act} (reach: {reach})",
                ]
                if where != domain:
                    chain.insert(1, f"hierarchy: {domain} lies under {where}")
                if reach == Reach.OWN:
                    chain.append("condition: the resource is assigned to the user")
                return Decision(True, chain)
        return Decision(False, self._why_not(user, domain, permission, assigned))

    def _why_not(self, user: str, domain: str, permission: str, assigned: bool) -> list[str]:
        roles = sorted(self._roles.get((user, domain), ()))
        if not roles:
            reasons = [f"{user} holds no role in {domain}"]
        else:
            reasons = [f"{user} holds {', '.join(roles)} in {domain}"]
            own_only = [
                r for r in roles if self._role_reaches[r].get(permission) == frozenset({Reach.OWN})
            ]
            if own_only and not assigned:
                reasons.append(
                    f"{', '.join(own_only)} may {permission} only on resources assigned to them"
                )
            else:
                reasons.append(f"none of these roles gives {permission}")
        if self._parents.get(domain) is not None:
            reasons.append(f"no role above {domain} reaches its subtree with {permission}")
        return reasons
