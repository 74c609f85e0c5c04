"""The docs stay true: every setting is documented, every doc the README links exists."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(_env_names(annotation, env + "__"))
        else:
            names.append(env)
    return names


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    general, tiers = text.split("## Tiers", 1)
    missing = [
        env for env in _env_names(Settings, "FRAMECAST_")
        # tier fields are documented once, in the tier table, by field name
        if not (f"`{env.rsplit('__', 1)[1]}`" in tiers if env.startswith("FRAMECAST_TIERS__") else env in general)
    ]
    assert missing == []


def test_readme_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)]+)\)", readme)
    assert links, "the README links its docs"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_quick_start_is_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S)
    assert block is not None
    assert block.group(1).split("\n")[:-1] == ["make demo", "make test"]
