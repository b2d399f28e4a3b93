"""``csgate api token`` — make an API bearer token and the settings line that admits it."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Literal

import orjson
import typer

app = typer.Typer(no_args_is_help=True, help="API access: make bearer tokens.")


@app.command()
def token(role: Annotated[Literal["admin", "operator", "auditor"], typer.Option(help="What the token may do")]) -> None:
    """Print a new token (give it to the caller) and its digest entry for ``api_tokens`` (configure it)."""
    value = secrets.token_urlsafe(32)
    digest = hashlib.sha256(value.encode()).hexdigest()
    typer.echo(f"token: {value}")
    typer.echo(
        f"CSGATE_API_TOKENS='{orjson.dumps({digest: role}).decode()}'   # or in the config TOML: "
        f'api_tokens = {{ "{digest}" = "{role}" }}'
    )
