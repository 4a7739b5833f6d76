"""Settings of the web platform: the store, the listener, cookies, and the security policy."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mujun.auth.settings import AuthSettings


class WebSettings(AuthSettings):
    """``mujun serve`` settings; every field can be set by ``MUJUN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    db: Path = Path("mujun.duckdb")
    duckdb_threads: int = 2
    # Memory for figures computed once per data generation and shared by all requests
    # (mujun.web.cache); a province's run takes ~70 MB, its year's register and land ~30 MB.
    cache_mb: int = Field(1024, ge=16)
    # Audit entries of reads are committed together by a background thread at most this many
    # milliseconds after the read (and before any write, and at shutdown), instead of one
    # commit before each response: most of a page's cost under load. A crash loses at most
    # this window of read entries; writes are logged in their own transaction regardless.
    # 0 commits each read's entry before its response.
    audit_delay_ms: int = Field(50, ge=0, le=5000)
    # Compute the pages' figures in the background after start-up and after each data write,
    # so that the first request does not wait for them (a few seconds for a province).
    warm_read_models: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Idle keep-alive connections are closed after this long. Longer than the idle timeout of
    # clients and proxies in front (nginx keeps upstream connections 60 s): a server closing
    # first races a client reusing the connection, which then sees a reset.
    keep_alive_seconds: int = Field(75, ge=1)
    # None: a random secret is generated on first start and kept in the store (app_secrets),
    # so sessions survive restarts without a secret in any file or in the code.
    cookie_secret: SecretStr | None = None
    cookie_secure: bool = Field(
        False, description="仅通过 HTTPS 发送 Cookie / send cookies over HTTPS only"
    )
    # A deployment's own licensed county boundaries (GeoJSON keyed by division code) switch the
    # overview map from the schematic tiles to a choropleth; none ship with the platform.
    geojson_dir: Path | None = None
    # node_modules holding ECharts and htmx (installed by `make install`); None: the repository's.
    vendor_dir: Path | None = None
