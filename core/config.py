"""One settings model for framecast: environment plus an optional TOML file.

Environment variables use the ``FRAMECAST_`` prefix and ``__`` for nesting,
e.g. ``FRAMECAST_SANDBOX__MODE=unsafe-local`` or
``FRAMECAST_TIERS__FREE__WALL_TIME_S=5``. The TOML file is read from
``FRAMECAST_CONFIG`` (default ``framecast.toml`` in the working directory,
if it exists); the environment wins over the file. This is the only module
that reads the environment.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.policy import TierTable

__all__ = [
    "AdminSettings",
    "CodegenSettings",
    "QueueSettings",
    "SandboxMode",
    "SandboxSettings",
    "Settings",
    "load_settings",
]


class SandboxMode(StrEnum):
    BUBBLEWRAP = "bubblewrap"
    UNSAFE_LOCAL = "unsafe-local"


class SandboxSettings(BaseModel):
    """Limits and isolation for every render. Wall time comes from the tier."""

    mode: SandboxMode = Field(
        SandboxMode.BUBBLEWRAP,
        description="bubblewrap (the default and the only safe mode) or unsafe-local "
        "(no isolation, logged loudly; for development on machines without bubblewrap).",
    )
    uid: int = Field(
        65534,
        description="Unprivileged uid (and gid) the sandbox runs as when framecast runs as root.",
    )
    memory_mb: int = Field(1536, gt=0, description="Memory limit of one render (cgroup and address space).")
    pids: int = Field(128, gt=0, description="Most processes and threads one render may have.")
    cpu_s: int = Field(240, gt=0, description="CPU seconds one render may use.")
    file_size_mb: int = Field(512, gt=0, description="Largest file a render may write.")
    open_files: int = Field(256, gt=0, description="Most open file descriptors inside the sandbox.")
    tmp_mb: int = Field(512, gt=0, description="Size of the sandbox's private /tmp.")
    artifacts_mb: int = Field(256, gt=0, description="Most bytes read back from /artifacts.")
    bwrap: str = Field("bwrap", description="The bubblewrap executable.")


class QueueSettings(BaseModel):
    concurrency: int = Field(
        max(1, (os.cpu_count() or 2) - 1), gt=0, description="Renders running at once."
    )
    per_user_queued: int = Field(3, gt=0, description="Most queued jobs one user may have.")
    user_rate_per_min: int = Field(6, gt=0, description="Render requests one user may make per minute.")
    chat_rate_per_min: int = Field(30, gt=0, description="Render requests one chat may make per minute.")
    shutdown_grace_s: float = Field(
        30.0, ge=0,
        description="On SIGTERM/SIGINT, how long running renders may finish before they are requeued.",
    )


class CodegenSettings(BaseModel):
    backend: str = Field("builtin", description="Code generator: builtin (offline composer).")
    max_prompt_chars: int = Field(2000, gt=0, description="Longest prompt accepted.")


class AdminSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the mTLS admin API listens on.")
    port: int = Field(8443, ge=0, le=65535, description="Port of the mTLS admin API.")
    enroll_port: int = Field(
        8444, ge=0, le=65535,
        description="Port of the enrollment listener (TLS without client certificates; "
        "serves only POST /enroll and GET /ca.pem).",
    )
    health_port: int = Field(8080, ge=0, le=65535, description="Port of plain /healthz and /readyz (localhost).")
    pki_dir: Path | None = Field(None, description="Where the CA lives; default <data_dir>/.pki.")


class Settings(BaseSettings):
    """Everything framecast can be told. See docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="FRAMECAST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Field(Path("workspaces"), description="Markdown state, artifacts and the SQLite index.")
    log_level: str = Field("INFO", description="Python logging level.")
    tiers: TierTable = Field(default_factory=TierTable, description="Tier presets and limits.")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    codegen: CodegenSettings = Field(default_factory=CodegenSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("FRAMECAST_CONFIG", "framecast.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "framecast.sqlite3"

    @property
    def pki_dir(self) -> Path:
        return self.admin.pki_dir or self.data_dir / ".pki"


def load_settings(**overrides: Any) -> Settings:
    """The one factory the CLI, the server and the tests share."""
    return Settings(**overrides)
