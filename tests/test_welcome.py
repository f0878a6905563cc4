"""`make up`'s closing text never prints the admin token (its output ends up in CI logs)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_welcome_text_names_the_token_file_but_not_the_token(tmp_path):
    (tmp_path / "admin-token").write_text("very-secret-token-123\n")
    shown = subprocess.run(["bash", str(ROOT / "scripts" / "welcome.sh")], capture_output=True, text=True,
                           env={"PAAS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert "very-secret-token-123" not in shown and str(tmp_path / "admin-token") in shown
