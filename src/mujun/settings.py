"""Settings read from the environment (``MUJUN_*``) with sensible defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def default_rules_dir() -> Path:
    """Return the ``rules/`` folder of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "rules"


class Settings(BaseSettings):
    """Process-wide settings; every field can be overridden by ``MUJUN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="forbid")

    db: Path = Path("mujun.duckdb")
    rules_dir: Path = default_rules_dir()
    duckdb_threads: int = 2
    duckdb_memory_limit: str = "4GB"
