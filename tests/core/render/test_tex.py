"""Real TeX inside the real sandbox, through the real ``framecast render --code`` command.

Covers what people need (MathTex, Tex, Matrix, numbers, axes with
coordinates on both tiers) and what must never work: TeX reading or writing
host files, running shell commands, or looping past the wall limit.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FRAMECAST = str(Path(sys.executable).with_name("framecast"))

EVERYTHING_TEX = r'''from manim import *


class TexEverything(Scene):
    def construct(self):
        formula = MathTex(r"\int_0^1 x^2\,dx = \frac{1}{3}").to_edge(UP)
        words = Tex(r"Hello \LaTeX{}: $a^2 + b^2 = c^2$").next_to(formula, DOWN)
        matrix = Matrix([[1, 0], [0, 1]]).scale(0.6).to_corner(DL)
        number = DecimalNumber(2.5, num_decimal_places=1).to_corner(DR)
        line = NumberLine(x_range=[0, 4, 1], length=4, include_numbers=True).to_edge(DOWN)
        axes = Axes(x_range=[-2, 2, 1], y_range=[-1, 1, 1], x_length=4, y_length=2).add_coordinates()
        self.add(formula, words, matrix, line, axes)
        self.play(ChangeDecimalToValue(number, 7.5), run_time=1)
'''


def tex_scene(tex: str) -> str:
    """A scene whose only TeX is ``tex``, typeset by Tex()."""
    return (
        "from manim import *\n\n\n"
        "class Hostile(Scene):\n"
        "    def construct(self):\n"
        f"        self.play(FadeIn(Tex({tex!r})), run_time=0.5)\n"
    )


def framecast(data_dir: Path, scene: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
    clean.update({"FRAMECAST_DATA_DIR": str(data_dir), **(env or {})})
    proc = subprocess.run([FRAMECAST, "render", "--code", str(scene), "--json", *args],
                          capture_output=True, text=True, env=clean, timeout=timeout)
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])


def everything_written(data_dir: Path) -> bytes:
    """Every byte framecast left under the data dir: records, code, videos."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "size"), [("free", (854, 480)), ("premium", (1920, 1080))])
def test_tex_features_render_on_both_tiers(data_dir: Path, tmp_path: Path, tier: str, size: tuple[int, int]) -> None:
    scene = tmp_path / "everything.py"
    scene.write_text(EVERYTHING_TEX)
    proc, result = framecast(data_dir, scene, "--tier", tier)
    assert proc.returncode == 0, (result, proc.stderr[-2000:])
    assert result["ok"] and result["code"] == "OK"
    assert (result["width"], result["height"], result["fps"]) == (*size, 24)
    assert result["duration_s"] == pytest.approx(1.0)
    assert Path(result["video"]).is_file()


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, str]:
    """A host file holding a random token, readable by anyone who can reach it."""
    token = f"FCTOKEN{secrets.token_hex(12)}"
    secret_dir = tmp_path / "host-secret"
    secret_dir.mkdir()
    secret = secret_dir / "token.tex"
    secret.write_text(token + "\n")
    for path in (tmp_path, secret_dir):
        path.chmod(0o755)
    secret.chmod(0o644)
    return secret, token


# name -> TeX, given the planted host file and a host path that must not appear
ATTACKS: dict[str, Callable[[Path, Path], str]] = {
    "input-host-file": lambda secret, out: rf"\input{{{secret}}}",
    "input-sandbox-passwd": lambda secret, out: r"\input{/etc/passwd}",
    "openin-host-file": lambda secret, out: (
        rf"\newread\fcr \openin\fcr={secret} \ifeof\fcr NOFILE\else\read\fcr to\fcx \fcx\fi"),
    "write18-touch": lambda secret, out: rf"\immediate\write18{{touch {out}}} shell",
    "immediate-write-host": lambda secret, out: (
        rf"\newwrite\fcw \immediate\openout\fcw={out} \immediate\write\fcw{{leak}} \immediate\closeout\fcw done"),
    "immediate-write-artifacts": lambda secret, out: (
        r"\newwrite\fcw \immediate\openout\fcw=/artifacts/leak.tex \immediate\write\fcw{leak} "
        r"\immediate\closeout\fcw done"),
}

# Attacks on paths the sandbox does show, so only TeX's own settings stop them.
REFUSED_BY_TEX = {
    "input-sandbox-passwd": "not found",
    "immediate-write-artifacts": "can't write",
}


@pytest.mark.slow
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_tex_cannot_reach_the_host(data_dir: Path, tmp_path: Path, planted: tuple[Path, str], attack: str) -> None:
    secret, token = planted
    created = secret.parent / f"created-{attack}.tex"
    scene = tmp_path / "hostile.py"
    scene.write_text(tex_scene(ATTACKS[attack](secret, created)))
    proc, result = framecast(data_dir, scene)
    # Nothing of the token anywhere framecast writes or says, and no host file appears.
    for output in (proc.stdout, proc.stderr, json.dumps(result)):
        assert token not in output
    assert token.encode() not in everything_written(data_dir)
    assert not created.exists()
    assert secret.read_text() == token + "\n"
    if result["ok"]:  # TeX ran without the forbidden content
        assert attack in ("openin-host-file", "write18-touch")
    else:
        assert result["code"] == "E_RENDER", result
        assert "LaTeX" in result["message"] and len(result["message"]) < 800
        assert result["message"].count("\n") < 10
    # Reading absolute paths and writing outside TeX's own folder are refused by TeX itself
    # (openin_any/openout_any = p), even where the sandbox shows the file (/etc/passwd,
    # /artifacts): without that, TeX reads /etc/passwd and then stumbles on its contents.
    refusal = REFUSED_BY_TEX.get(attack)
    if refusal:
        assert not result["ok"] and refusal in result["message"], result


@pytest.mark.slow
def test_shell_escape_is_off_not_just_restricted(data_dir: Path, tmp_path: Path) -> None:
    """TeX Live's default is restricted shell escape (\\pdfshellescape = 2); framecast's TeX has none."""
    scene = tmp_path / "shell.py"
    scene.write_text(tex_scene(r"\ifnum\pdfshellescape=0 off\else\errmessage{shell escape is on}\fi"))
    proc, result = framecast(data_dir, scene)
    assert result["ok"], result


@pytest.mark.slow
def test_tex_infinite_loop_is_killed_at_the_wall_limit(data_dir: Path, tmp_path: Path) -> None:
    scene = tmp_path / "loop.py"
    scene.write_text(tex_scene(r"\def\x{\x}\x"))
    start = time.monotonic()
    proc, result = framecast(data_dir, scene, env={"FRAMECAST_TIERS__FREE__WALL_TIME_S": "8"}, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    assert result["code"] == "E_TIMEOUT"
    assert result["message"] == "Render exceeded time limit."
    assert 8 <= elapsed < 40
