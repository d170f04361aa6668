"""The ``priemnaya`` command line, assembled: each command group lives beside what it commands,
and what they share (exit codes, errors, the database, ``--json``) in :mod:`tenancy.console`.

Importing a group loads only click and its module: each command imports the services it calls
when it runs, so that ``--help`` and the quick commands answer at once."""

from __future__ import annotations

import click

from cabinets.attachments.commands import storage_group
from cabinets.notifications.commands import outbox, webhook
from cabinets.records.commands import records
from cabinets.run_commands import serve, up, worker_command
from tenancy.catalog.commands import catalog
from tenancy.database_commands import db
from tenancy.routing.commands import route
from tenancy.staff.commands import policy, role, staff
from tenancy.staff.token_commands import token
from tenancy.tenants.commands import tenant
from tenancy.territories.commands import territory


@click.group()
@click.version_option(package_name="priemnaya")
def main() -> None:
    """Priemnaya: organization cabinets for citizens' messages and appeals."""


for command in (
    db,
    tenant,
    staff,
    role,
    policy,
    token,
    storage_group,
    outbox,
    webhook,
    territory,
    catalog,
    route,
    up,
    serve,
    worker_command,
    records,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
