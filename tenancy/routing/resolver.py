"""Resolution and the gap report, in memory.

A rule says: for a topic (a topic code, a category code, or ``*``) on a territory (at any
level), the tenant that must answer, with a priority and validity dates. Resolution walks the
territory up from the most specific level; at each level it tries the topic, then its
categories from the nearest up, then ``*``; among rules for the same place it prefers the
higher priority, then the older rule. A rule whose tenant is suspended or archived, or that is
not valid on the day, is passed over and the walk goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ANY_TOPIC = "*"


@dataclass(frozen=True)
class Rule:
    id: int
    topic: str
    territory: str
    tenant: str  # slug
    priority: int = 0
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    verdict: str  # winner, passed over: <why>, outranked


@dataclass
class Resolution:
    topic: str
    territory: str
    tenant: str | None
    rule: Rule | None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def reason(self) -> str:
        if self.rule is None:
            return "nobody is responsible: no valid rule with an active tenant covers this"
        return (
            f"rule {self.rule.id} ({self.rule.topic} on {self.rule.territory}, "
            f"priority {self.rule.priority}) is the most specific valid rule with an active tenant"
        )


@dataclass(frozen=True)
class GapGroup:
    """Topics nobody answers anywhere in a territory (all of its leaf territories)."""

    territory: str
    leaves: int
    topics: tuple[str, ...]


@dataclass
class GapReport:
    pairs: int
    groups: list[GapGroup]
    inactive_rules: list[Rule]


@dataclass(frozen=True)
class Coverage:
    """Topic bit masks per territory (bit ``i`` is ``topics[i]``): ``missing``, lacking in
    every leaf below; ``somewhere_missing`` / ``somewhere_covered``, in at least one leaf."""

    topics: list[str]
    bit: dict[str, int]
    children: dict[str | None, list[str]]
    order: list[str]  # parents before children
    missing: dict[str, int]
    somewhere_missing: dict[str, int]
    somewhere_covered: dict[str, int]
    leaves: dict[str, int]


class RoutingIndex:
    """Everything resolution needs, indexed once; rebuild it when anything changes."""

    def __init__(
        self,
        territories: Mapping[str, str | None],
        topics: Mapping[str, str],
        categories: Mapping[str, str | None],
        rules: Iterable[Rule],
        tenant_status: Mapping[str, str],
        topic_regions: Mapping[str, str | None] | None = None,
    ) -> None:
        self.parents = dict(territories)
        self.topic_category = dict(topics)
        self.category_parent = dict(categories)
        self.tenant_status = dict(tenant_status)
        self.topic_regions = dict(topic_regions or {})
        self.rules = list(rules)
        self._by_place: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules:
            self._by_place.setdefault((rule.topic, rule.territory), []).append(rule)
        for bucket in self._by_place.values():
            bucket.sort(key=lambda r: (-r.priority, r.id))
        self._keys: dict[str, tuple[str, ...]] = {}
        self._chains: dict[str, tuple[str, ...]] = {}
        # Built when first asked for.
        self._rules_of: dict[str, list[Rule]] | None = None  # by tenant
        self._parents_of_some: set[str] | None = None
        # Facts derived from the same tables (tenants' settings, published topics), kept by
        # callers for as long as this index is current: any change rebuilds the index.
        self.memo: dict[str, Any] = {}

    # --- chains ------------------------------------------------------------------------

    def topic_keys(self, topic: str) -> tuple[str, ...]:
        """The topic, its categories from the nearest up, then ``*``."""
        keys = self._keys.get(topic)
        if keys is None:
            found = [topic]
            category: str | None = self.topic_category[topic]
            while category is not None and category not in found:
                found.append(category)
                category = self.category_parent.get(category)
            keys = self._keys[topic] = (*found, ANY_TOPIC)
        return keys

    def territory_chain(self, territory: str) -> tuple[str, ...]:
        chain = self._chains.get(territory)
        if chain is None:
            found = [territory]
            parent = self.parents[territory]
            while parent is not None and parent not in found:
                found.append(parent)
                parent = self.parents.get(parent)
            chain = self._chains[territory] = tuple(found)
        return chain

    def visible(self, topic: str, territory: str) -> bool:
        """Regional topics exist only on their region's territory."""
        region = self.topic_regions.get(topic)
        return region is None or region in self.territory_chain(territory)

    def has_children(self, territory: str) -> bool:
        if self._parents_of_some is None:
            self._parents_of_some = {p for p in self.parents.values() if p is not None}
        return territory in self._parents_of_some

    def within(self, territory: str, places: Iterable[str]) -> bool:
        """Whether ``territory`` is one of ``places`` or lies inside one (a territory added
        since this index was built lies nowhere yet)."""
        if territory not in self.parents:
            return False
        return not set(places).isdisjoint(self.territory_chain(territory))

    def places_of(self, tenant: str, day: date) -> list[str]:
        """The territories ``tenant``'s rules valid on ``day`` name: where it answers (a
        subtree's more specific rule may still send some topics elsewhere)."""
        if self._rules_of is None:
            self._rules_of = {}
            for rule in self.rules:
                self._rules_of.setdefault(rule.tenant, []).append(rule)
        return sorted({r.territory for r in self._rules_of.get(tenant, ()) if r.valid_on(day)})

    # --- resolution ----------------------------------------------------------------------

    def resolve(self, topic: str, territory: str, day: date) -> str | None:
        """The tenant slug that must answer, or None; the fast path (no explanation)."""
        keys = self.topic_keys(topic)
        status = self.tenant_status
        for place in self.territory_chain(territory):
            for key in keys:
                for rule in self._by_place.get((key, place), ()):
                    if status.get(rule.tenant) == "active" and rule.valid_on(day):
                        return rule.tenant
        return None

    def explain(self, topic: str, territory: str, day: date) -> Resolution:
        """The same answer, with every candidate rule and why it won or did not."""
        result = Resolution(topic, territory, None, None)
        for place in self.territory_chain(territory):
            for key in self.topic_keys(topic):
                for rule in self._by_place.get((key, place), ()):
                    status = self.tenant_status.get(rule.tenant, "unknown")
                    if result.rule is not None:
                        verdict = f"outranked by rule {result.rule.id}"
                    elif status != "active":
                        verdict = f"passed over: tenant {rule.tenant} is {status}"
                    elif not rule.valid_on(day):
                        verdict = f"passed over: not valid on {day.isoformat()}"
                    else:
                        verdict = "winner"
                        result.rule, result.tenant = rule, rule.tenant
                    result.candidates.append(Candidate(rule, verdict))
        return result

    # --- gaps ------------------------------------------------------------------------------

    def coverage(self, day: date) -> Coverage:
        """Which topics each territory has covered on ``day``, as bit masks (kept in ``memo``
        for the day: any change rebuilds the index).

        Set-wise: each territory gets a bit mask of the topics covered on it (its parent's,
        plus those its own valid rules with active tenants cover), so the work grows with
        territories + rules, not with territories × topics."""
        key = f"coverage:{day.isoformat()}"
        found = self.memo.get(key)
        if isinstance(found, Coverage):
            return found
        topics = sorted(self.topic_category)
        bit = {code: 1 << i for i, code in enumerate(topics)}
        everything = (1 << len(topics)) - 1
        key_mask: dict[str, int] = {ANY_TOPIC: everything}
        for code in topics:
            for topic_key in self.topic_keys(code)[:-1]:
                key_mask[topic_key] = key_mask.get(topic_key, 0) | bit[code]
        regional: dict[str, int] = {}
        federal = everything
        for code, region in self.topic_regions.items():
            if region is not None and code in bit:
                regional[region] = regional.get(region, 0) | bit[code]
                federal &= ~bit[code]
        own: dict[str, int] = {}
        for rule in self.rules:
            if self.tenant_status.get(rule.tenant) == "active" and rule.valid_on(day):
                own[rule.territory] = own.get(rule.territory, 0) | key_mask.get(rule.topic, 0)

        children: dict[str | None, list[str]] = {}
        for code, parent in self.parents.items():
            children.setdefault(parent, []).append(code)
        covered: dict[str, int] = {}
        visible: dict[str, int] = {}
        order: list[str] = []
        stack = list(children.get(None, []))
        while stack:  # parents before children
            code = stack.pop()
            parent = self.parents[code]
            covered[code] = (covered[parent] if parent else 0) | own.get(code, 0)
            visible[code] = (visible[parent] if parent else federal) | regional.get(code, 0)
            order.append(code)
            stack.extend(children.get(code, []))
        # Missing everywhere below: a leaf's own gaps, and the AND of the children above;
        # missing somewhere below / covered somewhere below: the ORs.
        missing: dict[str, int] = {}
        somewhere_missing: dict[str, int] = {}
        somewhere_covered: dict[str, int] = {}
        leaves: dict[str, int] = {}
        for code in reversed(order):
            kids = children.get(code)
            if not kids:
                missing[code] = somewhere_missing[code] = visible[code] & ~covered[code]
                somewhere_covered[code] = visible[code] & covered[code]
                leaves[code] = 1
            else:
                mask, anywhere, some = everything, 0, 0
                for kid in kids:
                    mask &= missing[kid]
                    anywhere |= somewhere_missing[kid]
                    some |= somewhere_covered[kid]
                missing[code], somewhere_missing[code] = mask, anywhere
                somewhere_covered[code] = some
                leaves[code] = sum(leaves[kid] for kid in kids)
        found = Coverage(
            topics, bit, children, order, missing, somewhere_missing, somewhere_covered, leaves
        )
        self.memo[key] = found
        return found

    def gaps(self, day: date) -> GapReport:
        """Every (topic, leaf territory) pair without an active responsible tenant, grouped
        at the highest territory where the whole subtree lacks the topic."""
        found = self.coverage(day)
        missing, children = found.missing, found.children
        groups = []
        for code in found.order:
            parent = self.parents[code]
            here = missing[code] & ~(missing[parent] if parent else 0)
            if here:
                groups.append(GapGroup(code, found.leaves[code], topic_names(here, found.topics)))
        pairs = sum(missing[code].bit_count() for code in found.order if code not in children)
        inactive = [r for r in self.rules if self.tenant_status.get(r.tenant) != "active"]
        groups.sort(key=lambda g: (-g.leaves * len(g.topics), g.territory))
        return GapReport(pairs, groups, inactive)


def topic_names(mask: int, topics: list[str]) -> tuple[str, ...]:
    """The topics whose bits are set, visiting only the set bits."""
    names = []
    while mask:
        lowest = mask & -mask
        names.append(topics[lowest.bit_length() - 1])
        mask ^= lowest
    return tuple(names)
