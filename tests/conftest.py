import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
os.environ.setdefault("KB_TODAY", "2026-01-07")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_records(tmp_path):
    """Write {"systems/foo.yaml": "yaml text"} under a fresh content root; return the root."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "content"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return write
