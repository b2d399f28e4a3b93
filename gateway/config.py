"""One ``Settings`` object for the whole gateway, read from ``CSGATE_*`` environment variables and,
when ``CSGATE_CONFIG`` names one, a TOML file (environment wins over the file).

Relative paths are relative to the current working directory, so ``csgate`` run from a checkout
keeps everything under ``var/``. ``key_dir`` and ``database_url`` follow ``data_dir`` unless set
themselves: moving the data directory must never leave the keys or the database behind.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "CSGATE_CONFIG"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ROLES = ("admin", "operator", "auditor")
CASEWORKER_ROLE = re.compile(r"caseworker:[A-Za-z0-9._-]{1,64}")  # bound to the caseworker's id in the case registry


def _api_role(value: str) -> str:
    if value in ROLES or CASEWORKER_ROLE.fullmatch(value):
        return value
    raise ValueError(f"unknown API role {value!r}: one of {', '.join(ROLES)} or caseworker:<id>")


ApiRole = Annotated[str, AfterValidator(_api_role)]


class IwoIssuer(BaseModel):
    """What the agency puts on every income withholding order it issues after a new-hire match
    (``gateway.cases.iwo``), and the partner the orders go to (the e-IWO Portal, or an employer).

    The federal form's defaults: withholding begins within 14 days, payments are sent within 7
    business days, and the CCPA limit the agency applies when it knows no better (50 %)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partner: str  # a partner whose outbound format is eiwo or eiwo-xml
    issuing_state_name: str
    governing_law_state_name: str | None = None  # default: the issuing state
    government_official_name: str
    official_title: str
    payee_name: str  # the State Disbursement Unit
    payee_address: dict[str, Any]  # a canonical Address
    payee_fips: str
    begin_withholding_within_days: int = Field(default=14, ge=0)
    send_payment_within_days: int = Field(default=7, ge=0)
    ccpa_limit_percent: int = Field(default=50, ge=50, le=65)
    send_copy_to_employee: bool = True
    timezone: str = "UTC"  # for the two business days
    # days the agency is closed beyond the federal holidays (which never count as business days)
    holidays: frozenset[date] = frozenset()


class Settings(BaseSettings):
    """Gateway configuration. Unknown keys are an error: a mistyped ``key_dir`` must not pass silently."""

    model_config = SettingsConfigDict(env_prefix="CSGATE_", extra="forbid", frozen=True)

    data_dir: Path = Path("var")
    key_dir: Path = Path("var/keys")
    database_url: str = "sqlite:///var/csgate.db"
    log_level: LogLevel = "INFO"
    # API bearer tokens: SHA-256 (hex) of each token -> role. Only digests are configured, so the
    # settings never hold a usable secret; `csgate api token --role ROLE` makes a token and its line.
    api_tokens: dict[str, ApiRole] = {}
    # income withholding orders issued after a new-hire match; none are issued without it
    iwo: IwoIssuer | None = None

    @model_validator(mode="before")
    @classmethod
    def _follow_data_dir(cls, values: Any) -> Any:
        if isinstance(values, dict):
            data_dir = Path(values.get("data_dir", "var"))
            values.setdefault("key_dir", data_dir / "keys")
            values.setdefault("database_url", f"sqlite:///{(data_dir / 'csgate.db').as_posix()}")
        return values

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then the TOML file; no ``.env`` or secrets dir."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            path = Path(config_file)
            if not path.is_file():  # a missing file would otherwise read as "all defaults"
                raise FileNotFoundError(f"{CONFIG_ENV}={config_file!r}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
