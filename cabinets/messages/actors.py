"""Who acts in the cabinets: ``Staff``, a member of staff or an integration acting with an API
token. It is the one name for the acting person across cabinets; the request's authenticated
caller (rbac's ``Principal``) becomes one at the edge (``Staff.of``), and the history signs
its steps by its kind (``workflow.Actor``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from rbac.access import Principal
from rbac.enforcer import PolicyEnforcer


@dataclass(frozen=True)
class Staff:
    """Who works a message: a member of staff, or an integration acting with an API token
    (``user_id`` None, ``integration`` its name). ``may`` asks the live policy."""

    user_id: uuid.UUID | None
    subject: str
    policy: PolicyEnforcer
    integration: str | None = None

    @classmethod
    def of(cls, principal: Principal, policy: PolicyEnforcer) -> Staff:
        """The caller of a request as the one who acts."""
        if principal.kind == "token":
            return cls(None, principal.subject, policy, integration=principal.name)
        return cls(principal.user_id, principal.subject, policy)

    def may(self, tenant_id: uuid.UUID, permission: str, *, assigned: bool) -> bool:
        # Nothing is assigned to an integration: an executor's "own" reach never applies.
        own = assigned and self.user_id is not None
        return self.policy.allowed(self.subject, str(tenant_id), permission, assigned=own)

    def is_assignee(self, assignee_id: uuid.UUID | None) -> bool:
        return self.user_id is not None and assignee_id == self.user_id
