"""Permission checks: casbin is the source of truth; a compiled index answers the hot path.

casbin evaluates ``enforce`` by running its matcher over the ``p`` rules, which costs hundreds of
microseconds per call at our scale. The index keeps, per (user, domain), the permissions their
roles give with each permission's reach, updated incrementally on every change; a differential
test proves the two never disagree. ``explain`` runs casbin and reports the chain.

Domains are tenant ids (as strings) or ``platform`` for platform roles. The tenant hierarchy and
each tenant's status are handed in by the caller (``set_tenant``); this package looks nothing
up itself.

A custom role is a casbin subject of its own, ``name@tenant``, with one ``p`` rule per
permission: ten custom roles of five permissions each add fifty rules, which only ``explain``
(casbin's scan) pays for; the hot path pays nothing.

casbin itself is built from the roles held when ``explain`` first asks it, and kept current
from then on: at a million grants its role manager would cost every web process seconds and
hundreds of megabytes at start, for questions the index answers alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from rbac.permissions import get_permission
from rbac.roles import PLATFORM_DOMAIN, ROLE_TEMPLATES, Reach, RoleScope, UnknownRole, get_role

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

if TYPE_CHECKING:
    import casbin

_NO_ROLES: frozenset[str] = frozenset()
_REACHES_HERE = frozenset({Reach.TENANT, Reach.SUBTREE})
_READ_ONLY_STATUSES = frozenset({"suspended", "archived"})

Reaches = dict[str, frozenset[Reach]]


class GrantRefused(ValueError):
    """A grant that cannot be made as asked (wrong scope, or a role the tenant lacks)."""


def role_subject(role: str, domain: str) -> str:
    """The casbin subject of a role: a template's name, or ``name@tenant`` for a custom role."""
    return role if role in ROLE_TEMPLATES else f"{role}@{domain}"


class Grant(NamedTuple):
    """A role held in a domain. A tuple, not a dataclass: a web process makes a million of
    them at start, and a tuple is made three times as fast."""

    user: str
    role: str
    domain: str

    def check(self) -> None:
        if self.role not in ROLE_TEMPLATES:
            return  # a custom role; the enforcer checks that the tenant defines it
        role = get_role(self.role)
        if role.scope is RoleScope.PLATFORM and self.domain != PLATFORM_DOMAIN:
            raise GrantRefused(f"role {self.role!r} is a platform role; grant it on 'platform'")
        if role.scope is RoleScope.TENANT and self.domain == PLATFORM_DOMAIN:
            raise GrantRefused(f"role {self.role!r} is granted in a tenant, not on 'platform'")


@dataclass(frozen=True)
class CustomRoleRules:
    domain: str
    name: str
    permissions: tuple[str, ...]

    @property
    def subject(self) -> str:
        return f"{self.name}@{self.domain}"

    def rules(self) -> list[list[str]]:
        rules = []
        for name in self.permissions:
            permission = get_permission(name)
            rules.append([self.subject, permission.object, permission.action, Reach.TENANT.value])
        return rules


@dataclass(frozen=True, slots=True)
class TenantState:
    parent: str | None
    status: str = "active"


@dataclass
class PolicySnapshot:
    """Everything the enforcer needs, as read from the policy store in one go."""

    tenants: dict[str, TenantState] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)  # slug → tenant id, for labels
    custom_roles: list[CustomRoleRules] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    inactive_users: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    chain: list[str] = field(default_factory=list)


class _GroupingRules:
    """casbin's ``g`` rules, kept in casbin's own list and role manager, plus an index of
    positions. casbin's ``add_*``/``remove_*`` calls check membership by scanning that list,
    which at 150,000 grants costs milliseconds per change and minutes for a bulk change; with
    the index both are O(1) per rule, and casbin sees exactly the rules it would otherwise hold.
    """

    def __init__(self, enforcer: casbin.Enforcer) -> None:
        self.rules: list[list[str]] = enforcer.get_model().model["g"]["g"].policy
        self.links = enforcer.get_role_manager()
        self.position: dict[tuple[str, str, str], int] = {}

    def add(self, rule: tuple[str, str, str]) -> None:
        if rule in self.position:
            return
        self.position[rule] = len(self.rules)
        self.rules.append(list(rule))
        self.links.add_link(*rule)

    def remove(self, rule: tuple[str, str, str]) -> None:
        index = self.position.pop(rule, None)
        if index is None:
            return
        last = self.rules.pop()
        if index < len(self.rules):
            self.rules[index] = last
            self.position[(last[0], last[1], last[2])] = index
        self.links.delete_link(*rule)


def _template_reaches() -> dict[str, Reaches]:
    table: dict[str, dict[str, set[Reach]]] = {}
    for role in ROLE_TEMPLATES.values():
        for permission, reach in role.grants:
            table.setdefault(role.name, {}).setdefault(permission, set()).add(reach)
    return {r: {p: frozenset(s) for p, s in perms.items()} for r, perms in table.items()}


class PolicyEnforcer:
    def __init__(self) -> None:
        self._casbin: casbin.Enforcer | None = None
        self._grouping: _GroupingRules | None = None
        self._subject_reaches: dict[str, Reaches] = _template_reaches()
        self._custom: dict[str, CustomRoleRules] = {}
        # (user, domain) → role subjects held there, and the merged reaches they give.
        self._roles: dict[tuple[str, str], frozenset[str]] = {}
        # One object per combination of roles held, shared by everyone holding it: a million
        # people hold a few dozen combinations.
        self._combinations: dict[frozenset[str], frozenset[str]] = {}
        self._index: dict[tuple[str, str], Reaches] = {}
        # Most people hold the same few role combinations: share one merged map per combination
        # (with whether it reaches a subtree).
        self._merged: dict[frozenset[str], tuple[Reaches, bool]] = {}
        self._subtree_keys: set[tuple[str, str]] = set()
        # Custom role subject → the people holding it, so redefining a role touches only them.
        self._holders: dict[str, set[str]] = {}
        self._subtree_users: dict[str, int] = {}
        self._tenants: dict[str, TenantState] = {}
        self._inactive: set[str] = set()

    @classmethod
    def from_snapshot(cls, snapshot: PolicySnapshot) -> PolicyEnforcer:
        enforcer = cls()
        enforcer._tenants = dict(snapshot.tenants)
        for role in snapshot.custom_roles:
            enforcer.define_role(role)
        enforcer._inactive = set(snapshot.inactive_users)
        enforcer.load(snapshot.grants)
        return enforcer

    @property
    def casbin(self) -> casbin.Enforcer:
        """casbin, holding the same rules and grants as the index (built on first use)."""
        if self._casbin is None:
            import casbin
            from casbin.model import Model

            model = Model()
            model.load_model_from_text(MODEL_TEXT)
            built = casbin.Enforcer(model)
            built.add_policies([rule for r in ROLE_TEMPLATES.values() for rule in r.rules()])
            for role in self._custom.values():
                built.add_policies(role.rules())
            grouping = _GroupingRules(built)
            for (user, domain), subjects in self._roles.items():
                for subject in sorted(subjects):
                    grouping.add((user, subject, domain))
            self._casbin, self._grouping = built, grouping
        return self._casbin

    # --- changes ---------------------------------------------------------------------------

    def set_hierarchy(self, parents: Mapping[str, str | None]) -> None:
        """Tenant id → parent tenant id, for roles that reach a subtree (all active)."""
        self._tenants = {t: TenantState(parent) for t, parent in parents.items()}

    def set_tenant(self, tenant: str, parent: str | None, status: str = "active") -> None:
        self._tenants[tenant] = TenantState(parent, status)

    def set_user_active(self, user: str, active: bool) -> None:
        if active:
            self._inactive.discard(user)
        else:
            self._inactive.add(user)

    def define_role(self, role: CustomRoleRules) -> None:
        """Add or replace a tenant's custom role; everyone holding it sees the change at once."""
        subject = role.subject
        old = self._custom.get(subject)
        if self._casbin is not None:
            if old is not None:
                self._casbin.remove_policies(old.rules())
            self._casbin.add_policies(role.rules())
        self._custom[subject] = role
        self._subject_reaches[subject] = {p: frozenset({Reach.TENANT}) for p in role.permissions}
        self._recompile_holders(subject)

    def drop_role(self, domain: str, name: str) -> None:
        subject = f"{name}@{domain}"
        old = self._custom.pop(subject, None)
        if old is None:
            return
        if self._casbin is not None:
            self._casbin.remove_policies(old.rules())
        self._subject_reaches.pop(subject, None)
        self._recompile_holders(subject)

    def _recompile_holders(self, subject: str) -> None:
        self._merged = {k: v for k, v in self._merged.items() if subject not in k}
        domain = subject.rsplit("@", 1)[1]
        for user in list(self._holders.get(subject, ())):
            self._compile(user, domain)

    def load(self, grants: Iterable[Grant]) -> int:
        """Add many grants at once (casbin's bulk path); return how many were new."""
        if not self._roles and self._grouping is None:
            return self._load_fresh(grants)
        new: list[tuple[str, str, str]] = []
        checked: set[tuple[str, bool]] = set()  # what a check depends on
        for grant in grants:
            kind = (grant.role, grant.domain == PLATFORM_DOMAIN)
            if kind not in checked:
                grant.check()
                checked.add(kind)
            subject = role_subject(grant.role, grant.domain)
            if subject not in self._subject_reaches:
                raise UnknownRole(grant.role)
            key = (grant.user, grant.domain)
            held = self._roles.get(key, _NO_ROLES)
            if subject not in held:
                self._roles[key] = self._shared(held | {subject})
                new.append((grant.user, subject, grant.domain))
                if subject in self._custom:
                    self._holders.setdefault(subject, set()).add(grant.user)
        if new:
            if self._grouping is not None:
                for rule in new:
                    self._grouping.add(rule)
            for user, domain in {(user, domain) for user, _, domain in new}:
                self._compile(user, domain)
        return len(new)

    def _load_fresh(self, grants: Iterable[Grant]) -> int:
        """``load`` into an enforcer that holds no grant yet (a process's start): the same
        result in one pass over the grants, with each role combination merged once rather than
        per person, which at a million grants is most of the start."""
        roles, shared = self._roles, self._combinations
        alone: dict[str, frozenset[str]] = {}  # subject → the combination of it alone
        checked: set[tuple[str, bool]] = set()
        added = 0
        for grant in grants:
            user, role, domain = grant
            kind = (role, domain == PLATFORM_DOMAIN)
            if kind not in checked:
                grant.check()
                checked.add(kind)
            subject = role if role in ROLE_TEMPLATES else f"{role}@{domain}"
            single = alone.get(subject)
            if single is None:
                if subject not in self._subject_reaches:
                    raise UnknownRole(role)
                single = alone[subject] = self._shared(frozenset((subject,)))
            key = (user, domain)
            held = roles.get(key)
            if held is None:
                roles[key] = single
            elif subject in held:
                continue
            else:
                union = held | single
                roles[key] = shared.setdefault(union, union)
            added += 1
            if subject in self._custom:
                self._holders.setdefault(subject, set()).add(user)
        index, merged, subtree = self._index, self._merged, self._subtree_users
        for key, held in roles.items():
            compiled = merged.get(held)
            if compiled is None:
                self._compile(*key)  # merges this combination once, for everyone after
                continue
            index[key] = compiled[0]
            if compiled[1]:
                self._subtree_keys.add(key)
                subtree[key[0]] = subtree.get(key[0], 0) + 1
        return added

    def grant(self, grant: Grant) -> bool:
        return self.load([grant]) == 1

    def revoke(self, grant: Grant) -> bool:
        subject = role_subject(grant.role, grant.domain)
        key = (grant.user, grant.domain)
        roles = self._roles.get(key, _NO_ROLES)
        if subject not in roles:
            return False
        self._roles[key] = self._shared(roles - {subject})
        self._holders.get(subject, set()).discard(grant.user)
        if self._grouping is not None:
            self._grouping.remove((grant.user, subject, grant.domain))
        self._compile(grant.user, grant.domain)
        return True

    def _shared(self, roles: frozenset[str]) -> frozenset[str]:
        return self._combinations.setdefault(roles, roles)

    def _compile(self, user: str, domain: str) -> None:
        key = (user, domain)
        roles = self._roles.get(key, _NO_ROLES)
        compiled = self._merged.get(roles)
        if compiled is None:
            collected: dict[str, set[Reach]] = {}
            for subject in roles:
                for permission, reaches in self._subject_reaches.get(subject, {}).items():
                    collected.setdefault(permission, set()).update(reaches)
            merged = {p: frozenset(r) for p, r in collected.items()}
            compiled = (merged, any(Reach.SUBTREE in r for r in merged.values()))
            self._merged[roles] = compiled
        merged, has_subtree = compiled
        if roles:
            self._index[key] = merged
        else:
            self._index.pop(key, None)
            self._roles.pop(key, None)
        if has_subtree != (key in self._subtree_keys):
            if has_subtree:
                self._subtree_keys.add(key)
            else:
                self._subtree_keys.discard(key)
            count = self._subtree_users.get(user, 0) + (1 if has_subtree else -1)
            if count:
                self._subtree_users[user] = count
            else:
                self._subtree_users.pop(user, None)

    # --- questions -------------------------------------------------------------------------

    def roles_in(self, user: str, domain: str) -> list[str]:
        return sorted(s.split("@", 1)[0] for s in self._roles.get((user, domain), ()))

    def parent_of(self, tenant: str) -> str | None:
        state = self._tenants.get(tenant)
        return state.parent if state else None

    def _refusal(self, user: str, domain: str, permission: str, name: _Labeller) -> str | None:
        """Reasons that deny before any role is considered (the hot path checks the same)."""
        if user in self._inactive:
            return f"{name(user)} is deactivated"
        state = self._tenants.get(domain)
        if state and state.status in _READ_ONLY_STATUSES and get_permission(permission).writes:
            return f"{name(domain)} is {state.status}: its cabinet is read-only"
        return None

    def allowed(self, user: str, domain: str, permission: str, *, assigned: bool = False) -> bool:
        """The hot path: dictionary lookups only, plus a walk up the hierarchy for supervisors."""
        if self._inactive and user in self._inactive:
            return False
        state = self._tenants.get(domain)
        if (
            state is not None
            and state.status in _READ_ONLY_STATUSES
            and get_permission(permission).writes
        ):
            return False
        here = self._index.get((user, domain))
        if here is not None:
            reaches = here.get(permission)
            if reaches is not None and (
                not reaches.isdisjoint(_REACHES_HERE) or (assigned and Reach.OWN in reaches)
            ):
                return True
        if user not in self._subtree_users:
            return False
        ancestor = state.parent if state else None
        while ancestor is not None:
            above = self._index.get((user, ancestor))
            if above is not None and Reach.SUBTREE in above.get(permission, ()):
                return True
            ancestor = self.parent_of(ancestor)
        return False

    def casbin_allowed(
        self, user: str, domain: str, permission: str, *, assigned: bool = False
    ) -> bool:
        """The same question answered by casbin alone (the reference for the index)."""
        return self.explain(user, domain, permission, assigned=assigned).allowed

    def explain(
        self,
        user: str,
        domain: str,
        permission: str,
        *,
        assigned: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> Decision:
        """Ask casbin, and say which grant, role and rule decided (or why nothing matched).

        ``labels`` turns ids into names people know (e-mails, tenant slugs) in the chain.
        """
        perm = get_permission(permission)
        name = _Labeller(labels)
        refusal = self._refusal(user, domain, permission, name)
        if refusal is not None:
            return Decision(False, [refusal])
        own = "yes" if assigned else "no"
        candidates = [(domain, "tenant")]
        ancestor = self.parent_of(domain)
        while ancestor is not None:
            candidates.append((ancestor, "subtree"))
            ancestor = self.parent_of(ancestor)
        for where, via in candidates:
            ok, rule = self.casbin.enforce_ex(user, where, perm.object, perm.action, via, own)
            if ok:
                subject, obj, act, reach = rule
                role = subject.split("@", 1)[0]
                kind = "role" if subject in ROLE_TEMPLATES else f"custom role of {name(where)}"
                chain = [
                    f"grant: {name(user)} holds {kind} {role} in {name(where)}",
                    f"rule: {role} may {obj}:{act} (reach: {reach})",
                ]
                if where != domain:
                    chain.insert(1, f"hierarchy: {name(domain)} lies under {name(where)}")
                if reach == Reach.OWN:
                    chain.append("condition: the resource is assigned to the user")
                return Decision(True, chain)
        return Decision(False, self._why_not(user, domain, permission, assigned, name))

    def _why_not(
        self,
        user: str,
        domain: str,
        permission: str,
        assigned: bool,
        name: _Labeller,
    ) -> list[str]:
        roles = sorted(self._roles.get((user, domain), ()))
        if not roles:
            reasons = [f"{name(user)} holds no role in {name(domain)}"]
        else:
            shown = ", ".join(s.split("@", 1)[0] for s in roles)
            reasons = [f"{name(user)} holds {shown} in {name(domain)}"]
            own_only = [
                r.split("@", 1)[0]
                for r in roles
                if self._subject_reaches.get(r, {}).get(permission) == frozenset({Reach.OWN})
            ]
            if own_only and not assigned:
                reasons.append(
                    f"{', '.join(own_only)} may {permission} only on resources assigned to them"
                )
            else:
                reasons.append(f"none of these roles gives {permission}")
        if self.parent_of(domain) is not None:
            reasons.append(f"no role above {name(domain)} reaches its subtree with {permission}")
        return reasons


class _Labeller:
    def __init__(self, labels: Mapping[str, str] | None) -> None:
        self.labels = labels or {}

    def __call__(self, key: str) -> str:
        return self.labels.get(key, key)
