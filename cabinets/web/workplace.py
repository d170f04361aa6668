"""The workplace a signed-in person sees in the header: the organizations they serve (to
switch between), the sections of the current one that their permissions allow, and the
operator's pages when they hold a platform role."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from cabinets.web.guards import person
from cabinets.web.navigation import CABINET_SECTIONS, OPERATOR_SECTIONS
from rbac.roles import PLATFORM_DOMAIN
from rbac.sync import LivePolicy
from tenancy.database import Database
from tenancy.staff import service as staff
from tenancy.staff.schemas import OrganizationRef
from tenancy.tenants import service as tenants


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool


@dataclass(frozen=True)
class Workplace:
    name: str
    organizations: list[OrganizationRef]
    current: OrganizationRef | None
    sections: list[Link]
    operator: bool

    def organization(self, slug: str) -> OrganizationRef | None:
        return next((o for o in self.organizations if o.slug == slug), None)


async def workplace(request: Request, slug: str | None = None) -> Workplace:
    """The header of a page signed in as a person; ``slug``: the organization the page is in
    (a supervisor may look at one below them, which is then the current one without being
    among their own)."""
    principal = person(request)
    assert principal is not None
    assert principal.user_id is not None
    db: Database = request.app.state.database
    policy: LivePolicy = request.app.state.policy
    found = await staff.workplaces(db, principal.user_id)
    current = next((o for o in found.organizations if o.slug == slug), None)
    sections: list[Link] = []
    if slug is not None:
        tenant_id = policy.slugs.get(slug)
        if current is None and tenant_id is not None:
            current = OrganizationRef(slug=slug, name=await _name_of(db, slug))
        for section in CABINET_SECTIONS:
            if tenant_id is None or not policy.enforcer.allowed(
                principal.subject, tenant_id, section.permission, assigned=section.own
            ):
                continue
            href = f"/cabinet/{slug}{section.path}"
            sections.append(Link(section.label, href, request.url.path == href))
    operator = bool(found.platform_roles)
    if operator and slug is None and request.url.path.startswith("/operator"):
        for section in OPERATOR_SECTIONS:
            if policy.enforcer.allowed(principal.subject, PLATFORM_DOMAIN, section.permission):
                href = f"/operator{section.path}"
                sections.append(Link(section.label, href, request.url.path.startswith(href)))
    return Workplace(found.name, found.organizations, current, sections, operator)


async def _name_of(db: Database, slug: str) -> str:
    return (await tenants.get_tenant(db, slug)).name
