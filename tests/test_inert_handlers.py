"""kb.js's inertHandlers(): an editor's diagram reaches Mermaid with no start tag naming an event
handler (in the reader's browser and in the build's Chromium alike), and any other text unchanged."""
import json
import re
import shutil
import subprocess

import pytest

from generator.diagrams import inert_handlers_js

NODE = shutil.which("node")

UNCHANGED = ["flowchart LR\n  A[<b>bold</b>] --> B[line<br/>break]", "sequenceDiagram\n  A->>B: List<String>",
             "flowchart LR\n  a<b", "classDiagram\n  class A\n  <<interface>> A", "x < y and online==>B",
             "flowchart LR\n  A -->|online| B", "<", "plain"]
HOSTILE = ['<img src=x onerror="alert(1)">', "<img/onerror=alert(1)>", "<svg onload='alert(1)'>",
           '<a title="x>y" ONclick=alert(1)>', '<img src="a" onerror  =  alert(1)>', "<x a=1 onfocus=alert(1)",
           '<img src=x onerror="alert(1)"onmouseover=alert(2)>']


def _run(sources: list[str]) -> list[str]:
    script = inert_handlers_js() + f";process.stdout.write(JSON.stringify({json.dumps(sources)}.map(window.kbInertHandlers)))"
    result = subprocess.run([NODE, "-e", "var window = {};" + script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(NODE is None, reason="node is installed with the test set-up (./dev test installs npm)")
def test_text_without_handlers_is_unchanged_and_handlers_are_inert():
    assert _run(UNCHANGED) == UNCHANGED
    for source, out in zip(HOSTILE, _run(HOSTILE)):
        assert not re.search(r"[\s/\"']on[a-z]+\s*=", out, re.I), (source, out)
        assert out.replace("\u200b", "") == source  # reads the same
