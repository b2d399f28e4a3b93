"""``csgate api token`` — make an API bearer token and the settings line that admits it."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Literal

import orjson
import typer

from gateway.config import CASEWORKER_ROLE

app = typer.Typer(no_args_is_help=True, help="API access: make bearer tokens.")


@app.command()
def token(
    role: Annotated[Literal["admin", "operator", "auditor", "caseworker"], typer.Option(help="What the token may do")],
    caseworker: Annotated[
        str | None, typer.Option(help="With --role caseworker: the caseworker id the case registry assigns cases to")
    ] = None,
) -> None:
    """Print a new token (give it to the caller) and its digest entry for ``api_tokens`` (configure it)."""
    if (role == "caseworker") != (caseworker is not None):
        raise typer.BadParameter("--caseworker ID goes with --role caseworker, and only with it")
    entry = f"caseworker:{caseworker}" if caseworker is not None else role
    if caseworker is not None and CASEWORKER_ROLE.fullmatch(entry) is None:
        raise typer.BadParameter("a caseworker id is 1-64 letters, digits, '.', '_' or '-'")
    value = secrets.token_urlsafe(32)
    digest = hashlib.sha256(value.encode()).hexdigest()
    typer.echo(f"token: {value}")
    typer.echo(
        f"CSGATE_API_TOKENS='{orjson.dumps({digest: entry}).decode()}'   # or in the config TOML: "
        f'api_tokens = {{ "{digest}" = "{entry}" }}'
    )
