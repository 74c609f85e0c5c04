"""The Markdown record of one render job: ``<job dir>/job.md``.

People read it; a mirror can parse it. The front matter is a ``---`` block
of ``key: value`` lines whose values are JSON scalars (valid YAML too), so
``json.loads`` reads each value back exactly. The body repeats the facts
for people and keeps the scene's code in a fenced block.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JobRecord", "parse_front_matter", "write_atomic"]


@dataclass
class JobRecord:
    job_id: str
    tier: str
    preset: str
    width: int
    height: int
    fps: int
    prompt: str | None = None
    code: str | None = None
    scene: str | None = None
    requested_duration_s: float | None = None
    duration_s: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    result: str = "OK"                      # "OK" or an E_ code
    message: str | None = None
    hint: str | None = None
    watermarked: bool = False
    video: str | None = None
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def front_matter(self) -> dict[str, Any]:
        keys = ("job_id", "created", "tier", "preset", "width", "height", "fps", "scene",
                "requested_duration_s", "duration_s", "result", "message", "watermarked", "video")
        data = {key: getattr(self, key) for key in keys}
        data.update({f"timing_{stage}_s": round(s, 3) for stage, s in self.timings.items()})
        return data

    def to_markdown(self) -> str:
        head = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in self.front_matter().items())
        ok = self.result == "OK"
        lines = [
            "---", head, "---", "",
            f"# Render {self.job_id}", "",
            f"- Result: {'OK' if ok else f'{self.result}: {self.message}'}",
        ]
        if self.hint and not ok:
            lines.append(f"- What to do: {self.hint}")
        lines += [
            f"- Tier: {self.tier} ({self.preset}, {self.width}x{self.height} @ {self.fps} fps)",
            f"- Requested duration: {_seconds(self.requested_duration_s)}",
            f"- Actual duration: {_seconds(self.duration_s)}",
            f"- Watermarked: {'yes' if self.watermarked else 'no'}",
            f"- Video: {self.video or 'none'}",
            "", "## Timings", "",
            *(f"- {stage}: {s:.3f} s" for stage, s in self.timings.items()),
        ]
        if self.prompt:
            lines += ["", "## Prompt", "", *(f"> {ln}" for ln in self.prompt.splitlines())]
        if self.notes:
            lines += ["", "## Notes", "", *(f"- {note}" for note in self.notes)]
        if self.code is not None:
            runs = [len(m) for m in re.findall(r"`+", self.code)]
            fence = "`" * max(3, max(runs, default=0) + 1)
            lines += ["", "## Code" + (f" (scene `{self.scene}`)" if self.scene else ""), "",
                      f"{fence}python", self.code.rstrip("\n"), fence]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        write_atomic(path, self.to_markdown().encode("utf-8"))


def _seconds(value: float | None) -> str:
    return "not given" if value is None else f"{value:g} s"


def parse_front_matter(text: str) -> dict[str, Any]:
    """Read back the ``---`` block written by :meth:`JobRecord.to_markdown`."""
    if not text.startswith("---\n"):
        return {}
    block = text[4:].split("\n---\n", 1)[0]
    data: dict[str, Any] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            data[key] = json.loads(value)
    return data


def write_atomic(path: Path, data: bytes | Path) -> None:
    """Write bytes (or copy a file) to ``path`` via a temp file in the same folder + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, Path):
                with data.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            else:
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
