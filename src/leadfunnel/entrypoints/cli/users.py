"""``leadfunnel user ...``, ``leadfunnel team add`` and ``leadfunnel apikey ...``: people and
machine keys. Passwords are read from a prompt or stdin, never from the command line."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from leadfunnel.domain.access import SCOPES, SYSTEM
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    cli_actor,
    console,
    emit,
    open_app,
    parse_uuid,
)
from leadfunnel.services.api_keys import create_api_key, list_api_keys, revoke_api_key
from leadfunnel.services.auth import add_team, add_user, list_users, set_password

__all__ = ["apikey_app", "team_app", "user_app"]

user_app = typer.Typer(help="People who sign in: add, list, set a password.", no_args_is_help=True)
team_app = typer.Typer(help="Sales teams.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machines: create, list, revoke.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _password(from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        if required:
            raise ValidationError(
                "password", "give --password-stdin, or run on a terminal to be asked"
            )
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise ValidationError("password", "the two passwords differ")
    return first


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, manager, marketer or rep.")],
    team: Annotated[str | None, typer.Option(help="Team name (a manager heads it).")] = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Create without a password (cannot sign in yet).")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a person. Without --password-stdin or --no-password you are asked for one."""
    password = None if no_password else _password(password_stdin, required=True)
    with open_app(db) as app:
        user = add_user(uow_factory=app.uow_factory, email=email, name=name, role=role,
                        password=password, team=team, actor=cli_actor(), now=app.clock())  # fmt: skip
    emit(
        as_json,
        user,
        lambda: console.print(f"Added {user['role']} {user['email']} ({user['id']})."),
    )


@user_app.command("list")
def user_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every user with role and team."""
    with open_app(db) as app:
        users = list_users(uow_factory=app.uow_factory, principal=SYSTEM)

    def render() -> None:
        table = Table("email", "name", "role", "team id", "active", title=f"{len(users)} users")
        for u in users:
            table.add_row(
                u["email"], u["name"], u["role"], str(u["team_id"] or ""), str(u["active"])
            )
        console.print(table)

    emit(as_json, {"items": users}, render)


@user_app.command("passwd")
def user_passwd(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a user's password; their open sessions end."""
    password = _password(password_stdin, required=True)
    assert password is not None
    with open_app(db) as app:
        set_password(uow_factory=app.uow_factory, email=email, password=password,
                     actor=cli_actor(), now=app.clock())  # fmt: skip
    emit(as_json, {"email": email, "password_set": True, "sessions_ended": True},
         lambda: console.print(f"Password set for {email}; their sessions have ended."))  # fmt: skip


@team_app.command("add")
def team_add(
    name: Annotated[str, typer.Argument(help="Team name.")],
    region: Annotated[str | None, typer.Option(help="The team's region.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a sales team."""
    with open_app(db) as app:
        team = add_team(uow_factory=app.uow_factory, name=name, region=region, actor=cli_actor(),
                        now=app.clock())  # fmt: skip
    emit(as_json, team, lambda: console.print(f"Added team {team['name']} ({team['id']})."))


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'website form'.")],
    user: Annotated[str, typer.Option(help="Email of the user the key acts for.")],
    scope: Annotated[list[str], typer.Option(help=f"Repeat for each scope: {', '.join(SCOPES)}.")],
    source: Annotated[
        str | None, typer.Option(help="Intake keys: the lead source their submissions carry.")
    ] = None,
    signed: Annotated[
        bool, typer.Option("--signed", help="Also issue a secret for HMAC-signed intake requests.")
    ] = False,
    rate_limit: Annotated[int, typer.Option(help="Requests per minute.", min=1)] = 600,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API key. The key (and signing secret) are printed once and never stored."""
    with open_app(db) as app:
        issued = create_api_key(uow_factory=app.uow_factory, name=name, user_email=user,
                                scopes=scope, source=source, signed=signed, rate_limit=rate_limit,
                                actor=cli_actor(), now=app.clock())  # fmt: skip

    def render() -> None:
        console.print(
            f"API key {issued.id} ({', '.join(issued.scopes)}). Copy it now; it is not shown again:"
        )
        console.print(issued.key)
        if issued.signing_secret:
            console.print(f"HMAC signing secret: {issued.signing_secret}")
            console.print(f"Key id for X-Leadfunnel-Key: {issued.key.split('_')[1]}")

    emit(as_json, issued.to_dict(), render)


@apikey_app.command("list")
def apikey_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every key: name, scopes, last use, revoked or not (never the key itself)."""
    with open_app(db) as app:
        keys = list_api_keys(uow_factory=app.uow_factory)

    def render() -> None:
        table = Table("id", "name", "scopes", "last used", "revoked", title=f"{len(keys)} API keys")
        for k in keys:
            table.add_row(str(k["id"]), k["name"], ", ".join(k["scopes"]),
                          str(k["last_used_at"] or "never"), str(k["revoked_at"] or ""))  # fmt: skip
        console.print(table)

    emit(as_json, {"items": keys}, render)


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `apikey list`).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: it stops working at once."""
    with open_app(db) as app:
        revoke_api_key(uow_factory=app.uow_factory, key_id=parse_uuid(key_id, field="key_id"),
                       actor=cli_actor(), now=app.clock())  # fmt: skip
    emit(as_json, {"id": key_id, "revoked": True}, lambda: console.print(f"Revoked {key_id}."))
