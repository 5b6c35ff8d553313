"""The wheel carries everything the server reads at run time (prompts, knowledge)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_ships_prompts_knowledge_and_entry_point(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"]
    subprocess.run(
        [*command, "build", "--wheel", "--quiet", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("ld_insights_mcp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    shipped_prompts = {
        n.rsplit("/", 1)[1] for n in names if n.startswith("ld_insights_mcp/prompts/")
    }
    assert shipped_prompts == {p.name for p in (ROOT / "prompts").glob("*.md")}
    assert "ld_insights_mcp/knowledge/score_categories.json" in names
    assert "ld_insights_mcp/py.typed" in names
    assert "ld-insights-mcp = ld_insights_mcp.cli:main" in scripts
