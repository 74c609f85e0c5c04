"""The Markdown mirror: layout, atomic writes, own-write hashes, appends, safe names."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError
from core.mirror import Mirror, errors_path, parse_front_matter, render_front_matter, safe_part
from core.models import (
    Approval,
    ApprovalState,
    AuditEntry,
    Context,
    Identity,
    Job,
    JobState,
    MemoryItem,
    Project,
    Role,
    TrialState,
    User,
)

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


def _user(user_id: str = "u_ada", tier: str = "free") -> User:
    return User(user_id, "Ada: Lovelace", Role.MEMBER, tier, TrialState.AVAILABLE, T0, T0 + 60)


def _job(**changes: object) -> Job:
    fields: dict[str, object] = dict(
        id="j_1", user_id="u_ada", workspace="tg-1", context_id="telegram:-100", session_id="s_1",
        kind="render", tier="free", prompt="a blue circle", code="from manim import *\n",
        requested_duration=4.0, state=JobState.DONE, attempts=1, error_code=None, error_message=None,
        result={"video": "jobs/j_1/out.mp4", "timings": {"preflight_s": 0.01, "render_s": 3.2}},
        created_at=T0, started_at=T0 + 1, finished_at=T0 + 5,
    )
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_user_file_has_front_matter_and_is_recognised_as_own(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    identity = Identity("telegram", "42", "u_ada", "ada", T0)
    path = mirror.write_user("tg-1", _user(), [identity])

    assert path == data_dir / "tg-1" / "users" / "u_ada.md"
    fields, body = parse_front_matter(path.read_text())
    assert fields == {"id": "u_ada", "display_name": "Ada: Lovelace", "tier": "free", "role": "member",
                      "trial": "available", "created": "2026-11-18T11:06:40Z",
                      "updated": "2026-11-18T11:07:40Z"}
    assert "- telegram: 42 (ada)" in body and "`tier:`" in body
    assert mirror.is_own(path, path.read_bytes())
    assert mirror.known_fields(path) == fields

    path.write_text(path.read_text().replace("tier: free", "tier: premium"))
    assert not mirror.is_own(path, path.read_bytes())
    assert _no_temp_files(data_dir)


def test_rewrites_replace_the_file_atomically(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    path = mirror.write_user("tg-1", _user(), [])
    before = path.stat().st_ino
    mirror.write_user("tg-1", _user(tier="premium"), [])
    # os.replace swaps in a new inode: readers hold either the old or the new file, never a mix.
    assert path.stat().st_ino != before
    assert parse_front_matter(path.read_text())[0]["tier"] == "premium"
    assert mirror.is_own(path, path.read_bytes())
    assert _no_temp_files(data_dir)


def test_context_file_lists_editable_policy_lines(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    context = Context("telegram:-100/7", "tg-1", "telegram", "-100/7", False, {"max_duration_s": 10})
    path = mirror.write_context(context)
    assert path == data_dir / "tg-1" / "contexts" / "telegram" / "-100%2F7.md"
    fields, _ = parse_front_matter(path.read_text())
    assert fields["id"] == "telegram:-100/7"
    assert fields["policy.ai_enabled"] == "" and fields["policy.max_duration_s"] == "10"
    assert fields["admin_hub"] == "false"


def test_ids_cannot_escape_their_folder(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    path = mirror.write_user("../../etc", _user("../../passwd"), [])
    assert path.resolve().is_relative_to(data_dir.resolve())
    assert path.parent.parent.name == "%2E.%2F..%2Fetc"
    assert path.name == "%2E.%2F..%2Fpasswd.md"
    assert safe_part("..") == "%2E." and safe_part("console") == "console"
    with pytest.raises(InputError):
        safe_part("")


def test_job_approval_and_memory_files(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    job_text = mirror.write_job("tg-1", _job()).read_text()
    assert "## Prompt\n\na blue circle" in job_text
    assert "```python\nfrom manim import *\n```" in job_text
    assert "- timings:\n  - preflight_s: 0.01\n  - render_s: 3.2" in job_text
    failed = mirror.write_job("tg-1", _job(id="j_2", state=JobState.FAILED, result=None,
                                           error_code="E_TIMEOUT", error_message="Render exceeded time limit."))
    assert "E_TIMEOUT: Render exceeded time limit." in failed.read_text()

    approval = Approval("a_1", "trial", "u_ada", "telegram:-100", {"prompt": "a square"},
                        ApprovalState.PENDING, T0, None, None, None, None)
    fields, body = parse_front_matter(mirror.write_approval("tg-1", approval).read_text())
    assert fields["state"] == "pending" and fields["decided_by"] == ""
    assert "- prompt: a square" in body

    project = Project("p_1", "u_ada", "tg-1", "circles", T0, T0 + 10)
    items = [MemoryItem(1, "p_1", "plan", "1. draw\n2. move", T0), MemoryItem(2, "p_1", "note", "likes blue", T0)]
    memory = mirror.write_memory("tg-1", project, items)
    assert "### Plan 1" in memory.read_text() and "- likes blue" in memory.read_text()
    mirror.remove_memory("tg-1", "p_1")
    assert not memory.exists()


def test_logs_and_audit_are_appended_not_rewritten(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    path = mirror.append_log("tg-1", "telegram", "-100", "ada: render a circle")
    inode = path.stat().st_ino
    mirror.append_log("tg-1", "telegram", "-100", "post: done\nsecond line")
    assert path == data_dir / "tg-1" / "logs" / "telegram" / "-100.md"
    assert path.stat().st_ino == inode
    assert path.read_text() == (
        "# telegram chat -100\n\n- ada: render a circle\n- post: done\n  second line\n"
    )

    entry = AuditEntry(7, T0, "telegram:42", "render.done", "j_1", "tg-1", {}, "0" * 64, "ab" * 32)
    audit_path = mirror.append_audit(entry)
    mirror.append_audit(entry)
    lines = [line for line in audit_path.read_text().splitlines() if line.startswith("- #7")]
    assert lines == ["- #7 2026-11-18T11:06:40Z telegram:42 `render.done` j_1 (hash abababababababab)"] * 2


def test_errors_note_sits_beside_the_file_and_is_cleared(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    path = mirror.write_user("tg-1", _user(), [])
    note = mirror.write_errors(path, "tier must be one of free, premium, not 'gold'.", T0)
    assert note == errors_path(path) == path.with_name("u_ada.errors.md")
    assert "2026-11-18T11:06:40Z" in note.read_text() and "'gold'" in note.read_text()
    mirror.clear_errors(path)
    assert not note.exists()


def test_front_matter_round_trip_and_errors() -> None:
    text = render_front_matter({"id": "u1", "note": "two\nlines", "flag": True, "empty": None}) + "body\n"
    assert parse_front_matter(text) == (
        {"id": "u1", "note": "two lines", "flag": "true", "empty": ""}, "body"
    )
    for bad, words in [
        ("id: u1\n", "must start"),
        ("---\nid u1\n---\n", "Line 2"),
        ("---\nid: a\nid: b\n---\n", "repeats"),
        ("---\nid: a\n", "no closing"),
    ]:
        with pytest.raises(InputError, match=words):
            parse_front_matter(bad)
