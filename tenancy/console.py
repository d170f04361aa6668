"""What every ``priemnaya`` command shares: exit codes and error messages, the settings, the
database made ready (started, migrated), ``--json`` and tables out, who acts, and the common
options. Commands parse, call one service through :func:`run_with_database`, render."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from pydantic import ValidationError

from tenancy import migrate
from tenancy.errors import Conflict, Forbidden, InvalidInput, NotFound

# Everything heavier (SQLAlchemy, the settings model, the web app, the policy) is imported by the
# commands that use it, so that `--help` and the quick commands answer at once.
if TYPE_CHECKING:
    from tenancy.database import Database, DatabaseUrls
    from tenancy.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class CommandError(click.ClickException):
    """A failure the user can act on (exit 1)."""

    exit_code = EXIT_FAILED


class BadInput(CommandError):
    """The input names something wrong or unknown (exit 2); nothing was changed."""

    exit_code = EXIT_BAD_INPUT


def actor() -> str:
    """Who runs this command, for the audit log."""
    return f"cli:{os.environ.get('PRIEMNAYA_ACTOR') or getpass.getuser()}"


def reports_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn domain errors into messages and exit codes: 2 for bad input, 1 for failures."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except InvalidInput as exc:
            raise BadInput("\n".join(str(e) for e in exc.errors)) from None
        except ValidationError as exc:
            errors = InvalidInput.from_validation(exc).errors
            raise BadInput("\n".join(str(e) for e in errors)) from None
        except NotFound as exc:
            raise BadInput(str(exc)) from None
        except (Conflict, Forbidden, migrate.MigrationError) as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            failure = _setup_failure(exc)
            if failure is None:
                raise
            raise failure from None

    return wrapper


def _setup_failure(exc: Exception) -> CommandError | None:
    """Bad settings (exit 2) or a database that is not there (exit 1). Both can only come
    from modules already loaded when they are raised, so importing them here costs nothing."""
    from tenancy.database import DatabaseUnavailable
    from tenancy.settings import SettingsError

    if isinstance(exc, SettingsError):
        return BadInput(str(exc))
    if isinstance(exc, DatabaseUnavailable):
        return CommandError(str(exc))
    return None


def settings() -> Settings:
    from tenancy.settings import load_settings

    context = click.get_current_context()
    found = context.find_object(dict)
    if found is None:
        found = context.ensure_object(dict)
    if "settings" not in found:
        found["settings"] = load_settings()
    value: Settings = found["settings"]
    return value


def ready_database_urls() -> DatabaseUrls:
    """Start the embedded database when needed and make sure the schema is current.

    On the embedded default the schema is migrated on the spot; against an external database
    the operator migrates explicitly (``priemnaya db upgrade``) and we say so.
    """
    from tenancy.database import resolve_database_urls

    current = settings()
    urls = resolve_database_urls(current)
    revision = migrate.current_revision(urls.privileged)
    if revision != migrate.head_revision():
        if not current.embedded:
            raise CommandError(
                f"the database schema is at {revision or 'nothing'}, this release needs "
                f"{migrate.head_revision()}: run `priemnaya db upgrade`"
            )
        migrate.upgrade(urls)
    return urls


def run_with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    import asyncio

    from tenancy.database import Database

    urls = ready_database_urls()
    # The result leaves through this list rather than as the coroutine's return value: on
    # Python 3.11 asyncio.run formats its main task, result included, while restoring the
    # SIGINT handler, and a plan of a million grants takes seconds to format.
    result: list[T] = []

    async def go() -> None:
        db = Database(urls, pool_size=2)
        try:
            result.append(await work(db))
        finally:
            await db.dispose()

    asyncio.run(go())
    return result[0]


def emit_json(payload: Any) -> None:
    from pydantic import BaseModel

    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        payload = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")

operator_option = click.option(
    "--as",
    "operator",
    metavar="EMAIL",
    help="Act for this operator: a regional operator's regions limit what may change.",
)


def parse_period(value: str, option: str) -> timedelta:
    """``5y``, ``90d``, ``12h`` or ``30m`` (a year counts 365 days)."""
    units = {"y": 365 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise BadInput(f"{option}: {value!r} is not like 5y, 90d, 12h or 30m")
    return timedelta(minutes=int(number) * units[unit])


def parse_expiry(value: str) -> datetime | None:
    """``90d``, ``12h``, ``30m`` from now, or ``never``."""
    if value == "never":
        return None
    return datetime.now(UTC) + parse_period(value, "--expires")
