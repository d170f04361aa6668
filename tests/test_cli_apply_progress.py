"""`tenant apply` tells a person at a terminal what each step did, with counts and rates; a
script reading its output through a pipe gets none of that."""

import os
import pty
import subprocess
import sys
from pathlib import Path

from tenancy.settings import Settings

REGION_MANIFEST = Path(__file__).parent / "tenancy" / "manifests" / "region.yaml"
APPLY = [sys.executable, "-m", "cli", "tenant", "apply", str(REGION_MANIFEST)]


def test_a_terminal_sees_each_step_with_counts_and_rates(cli_env: Settings) -> None:
    terminal, stderr = pty.openpty()
    try:
        result = subprocess.run(APPLY, stdout=subprocess.PIPE, stderr=stderr, timeout=120)
        shown = os.read(terminal, 65536).decode()
    finally:
        os.close(terminal)
        os.close(stderr)
    assert result.returncode == 0
    assert "reading the manifest…" in shown
    assert "tenant and staff rows read in" in shown
    assert "applying in one transaction…" in shown
    assert "a second)" in shown


def test_a_pipe_gets_no_progress(cli_env: Settings) -> None:
    result = subprocess.run(APPLY, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "a second" not in result.stderr + result.stdout
    assert "applied" in result.stdout
