"""Settings of the workflow: where publications and uploads are kept, and the file limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mujun.settings import default_rules_dir

MB = 1024 * 1024


class WorkflowSettings(BaseSettings):
    """``MUJUN_PUBLISH_DIR``, ``MUJUN_UPLOAD_DIR``, file size limits, the rules folder and
    ``MUJUN_SETTLE_MINUTES``."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    # None: a folder next to the store (<store>-files/publications, …/uploads).
    publish_dir: Path | None = None
    upload_dir: Path | None = None
    upload_max_bytes: int = Field(50 * MB, ge=1)
    evidence_max_bytes: int = Field(10 * MB, ge=1)
    rules_dir: Path = default_rules_dir()
    # How often the server makes runs final whose objection window is over (minutes).
    settle_minutes: float = Field(15, gt=0)

    def folders_for(self, db: Path) -> WorkflowSettings:
        """These settings with unset folders placed next to the store ``db``."""
        base = Path(db).with_name(Path(db).stem + "-files")
        return self.model_copy(
            update={
                "publish_dir": self.publish_dir or base / "publications",
                "upload_dir": self.upload_dir or base / "uploads",
            }
        )
