"""``make demo`` runs end to end and shows the evidence and the confirmed changes."""

from __future__ import annotations

import subprocess
import sys


def test_the_walkthrough_shows_evidence_and_a_confirmed_delete() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ld_insights_mcp.walkthrough"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for section in (
        "== get_insight_chart(",
        "== list_deployments(",
        "== get_deployment(",
        "== list_pull_requests(",
        "== explain_score(",
        "== insights_digest(",
        "== rename_insight_group(",
        "== delete_insight_group(",
    ):
        assert section in out, section
    assert "[asked the user] Delete insight group" in out
    assert "Deleted insight group walkthrough-squad" in out
    assert out.count("Error executing tool") == 1  # only the duplicate create it shows on purpose
    assert "[...]" not in out  # a long result is cut at a line's end, and says so:
    assert "; the model receives the whole result]" in out
    assert "Biggest dr\n" not in out
