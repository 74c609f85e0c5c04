"""The Markdown job record: readable, parseable, written atomically."""

from __future__ import annotations

from pathlib import Path

from core.render.record import JobRecord, parse_front_matter


def test_front_matter_round_trips_and_code_is_fenced(tmp_path: Path) -> None:
    code = 'from manim import *\n# a ``` fence inside\ns = "quote: \\"x\\""\n'
    record = JobRecord(
        job_id="j1", tier="free", preset="480p/24fps", width=854, height=480, fps=24,
        prompt="a circle\nthen: a square", code=code, scene="Demo", requested_duration_s=3,
        duration_s=3.0, timings={"preflight": 0.0012, "execute": 1.5}, result="E_RENDER",
        message='line 6: ValueError: "bad": value', hint="Fix it.", notes=["Not understood: sparkles"],
    )
    path = tmp_path / "jobs" / "j1" / "job.md"
    record.write(path)
    text = path.read_text()
    front = parse_front_matter(text)
    assert front["message"] == 'line 6: ValueError: "bad": value'
    assert front["requested_duration_s"] == 3 and front["watermarked"] is False
    assert front["timing_preflight_s"] == 0.001 and front["timing_execute_s"] == 1.5
    assert front["video"] is None
    assert "````python\n" + code + "````\n" in text  # fence longer than any run inside
    assert "> a circle\n> then: a square" in text
    assert "- What to do: Fix it." in text
    assert "- Not understood: sparkles" in text
    assert [p.name for p in path.parent.iterdir()] == ["job.md"]  # no temp file left behind
