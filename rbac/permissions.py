"""The one registry of permissions: ``object:action`` names with what each allows."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownPermission(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown permission {name!r} (see `priemnaya role list`)")
        self.name = name


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    # A permission that changes something; refused in suspended and archived cabinets.
    writes: bool = True

    @property
    def object(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def action(self) -> str:
        return self.name.split(":", 1)[1]


PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in (
        Permission("message:read", "Read messages, their history and attachments.", writes=False),
        Permission("message:moderate", "Accept, reject or ask a citizen to clarify a message."),
        Permission("message:register", "Register a message: number and date."),
        Permission("message:assign", "Distribute a message to an executor, or reassign it."),
        Permission("message:forward", "Forward a message to another organization by competence."),
        Permission("message:extend", "Extend a message's deadline, with a reason."),
        Permission("message:comment", "Write internal comments, never shown to the citizen."),
        Permission("answer:draft", "Prepare an answer: text and files."),
        Permission("answer:approve", "Approve an answer for publication, or return it."),
        Permission("template:edit", "Edit the organization's answer templates."),
        Permission("staff:manage", "Add staff, grant and revoke their roles."),
        Permission("tenant:settings", "Change the organization's cabinet settings."),
        Permission("report:read", "Read reports and counts.", writes=False),
        Permission("catalog:edit", "Edit the topic catalog and territories."),
        Permission("routing:edit", "Edit the routing table."),
        Permission("tenant:provision", "Create, move, suspend and archive tenants."),
    )
}


def get_permission(name: str) -> Permission:
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise UnknownPermission(name) from None
