"""Settings: one pydantic-settings object, read from ``TWIN_*`` variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS_TOML = PROJECT_ROOT / ".streamlit" / "secrets.toml"


class Settings(BaseSettings):
    """Everything configurable about a twin installation."""

    model_config = SettingsConfigDict(env_prefix="TWIN_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostGIS; unset = the project's own cluster.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of a streaming replica for reads (tiles, OGC, dashboards); "
        "unset = everything on the primary.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".twin",
        description="Folder of the embedded cluster and local secrets.",
    )
    db_port: int = Field(
        default=0, description="Loopback port of the embedded cluster; 0 = choose a free one once."
    )
    pii_key: str | None = Field(
        default=None,
        description="Key of the keyed hash of ID-card and phone numbers; unset = a key generated "
        "once and kept in the data folder.",
    )
    link_key: str | None = Field(
        default=None,
        description="Key that signs field links; unset = a key generated once and kept in the "
        "data folder.",
    )
    open311_api_key: str | None = Field(
        default=None, description="API key a partner app gives to read and file Open311 "
        "service requests; unset = only signed-in users.")
    open311_public_read: bool = Field(
        default=False, description="Let anyone read Open311 service requests without a key, as "
        "the GeoReport spec allows: category, status, dates, the place to ~100 m and the "
        "words scrubbed of ID and phone numbers; nothing else. Off by default.")
    platform_url: str | None = Field(
        default=None, description="Where the provincial grassroots-governance platform takes "
        "the twin's event changes (docs/platform-sync.md); unset = no exchange.")
    platform_key: str | None = Field(
        default=None, description="The key shared with the platform that signs the exchange "
        "both ways (HMAC-SHA256); unset = the inbound endpoint answers 404.")
    bank_key: str | None = Field(
        default=None, description="The key shared with the partner bank of 三治信用贷 that "
        "makes each consenting household's key in the credit file (HMAC-SHA256, "
        "docs/bank-export.md); unset = a key generated once and kept in the data folder.")
    platform_name: str = Field(default="zj-jczl", description="The platform's name in the "
                               "event log (platform:<name>).")
    link_hours: float = Field(default=72, gt=0, description="Lifetime of a field link.")
    public_url: str | None = Field(
        default=None, description="The address people open the product at (e.g. "
        "https://twin.example.gov.cn); field links and QR codes carry it. Unset = the "
        "address the official's browser used.")
    sweep_seconds: float = Field(
        default=60, ge=0, description="How often the server escalates overdue events; 0 = never "
        "(another process does it).")
    pool_size: int = 5
    tile_cache_mb: int = Field(default=256, ge=0,
                               description="Memory bound of the in-process tile cache.")
    statement_timeout_ms: int = 30_000
    trusted_proxies: str = Field(
        default="", description="Comma-separated addresses of the reverse proxies whose "
        "X-Forwarded-For/-Proto are believed (e.g. 127.0.0.1 when nginx runs beside the "
        "server); empty = none: every client is who its connection says.")
    api_docs: bool = Field(
        default=False, description="Serve the interactive API docs at /api/docs (they load "
        "Swagger UI's scripts from a CDN, so they are off on an intranet by default).")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        """Arguments, then ``TWIN_*`` variables, then ``.env``, then the ``[twin]`` table of
        ``.streamlit/secrets.toml`` (where Streamlit deployments keep secrets; ignored by
        git): secrets come from the environment or that file, never from the repository."""
        from pydantic_settings import TomlConfigSettingsSource

        secrets = TomlConfigSettingsSource(settings_cls, toml_file=SECRETS_TOML,
                                           toml_table_header=("twin",)) if SECRETS_TOML.is_file() else None
        return tuple(s for s in (init_settings, env_settings, dotenv_settings, secrets,
                                 file_secret_settings) if s is not None)


def local_secret(settings: Settings, name: str, configured: str | None) -> bytes:
    """A secret: the configured value if any, else one made once and kept in the data
    folder as ``<name>.key`` (mode 600, created before anything is written into it)."""
    import secrets

    if configured:
        return configured.encode()
    path = Path(settings.data_dir) / f"{name}.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` and pass it in)."""
    return Settings()
