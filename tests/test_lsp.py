"""What an editor shows on a record: the real yaml-language-server (the npm package pinned in
package.json, installed by `./dev test`) driven over the Language Server Protocol, as VS Code's
YAML extension and other editors drive it.

The server finds the schema by the record's own modeline
(`# yaml-language-server: $schema=../../schemas/<kind>.schema.json`), so the test also checks that
the modeline resolves from a record's folder. Every expected value (field names, enum values, a
field's description) is read from the schema file, so the test follows the models.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
KIND = "organizations"
SCHEMA = json.loads((REPO / "schemas" / f"{KIND}.schema.json").read_text(encoding="utf-8"))
RECORD = sorted((REPO / "content" / KIND).glob("*.yaml"))[0]
# The first field with a fixed list of values and a description (an organization's `type`).
ENUM_FIELD = next(name for name, spec in SCHEMA["properties"].items() if "enum" in spec and "description" in spec)
TIMEOUT = 60  # seconds for any one answer: the machine may be busy, the test must never hang
SETTINGS = {"yaml": {"validate": True, "hover": True, "completion": True, "schemaStore": {"enable": False}}}
PROPERTY = 10  # LSP CompletionItemKind.Property


class LanguageServer:
    """A JSON-RPC client on the server's stdio, with LSP's Content-Length framing."""

    def __init__(self):
        self.process = subprocess.Popen(["node", str(SERVER), "--stdio"], cwd=REPO, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.last_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while (line := stream.readline().decode("ascii").strip()):
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            if not headers:  # the server exited
                self.messages.put(None)
                return
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: dict):
        self.last_id += 1
        asked = self.last_id
        self._send({"id": asked, "method": method, "params": params})
        answer = self.wait_for(lambda m: m.get("id") == asked and "method" not in m, f"the answer to {method}")
        assert "error" not in answer, answer
        return answer["result"]

    def wait_for(self, wanted, what: str) -> dict:
        """The next message ``wanted`` accepts; the server's own requests are answered meanwhile."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"yaml-language-server sent no {what} within {TIMEOUT} s")
            if message is None:
                pytest.fail(f"yaml-language-server exited: {self.process.stderr.read().decode(errors='replace')}")
            if "method" in message and "id" in message:  # e.g. workspace/configuration
                items = message["params"].get("items", []) if message["method"] == "workspace/configuration" else None
                self._send({"id": message["id"],
                            "result": None if items is None else [SETTINGS.get(i.get("section")) for i in items]})
            elif wanted(message):
                return message

    def open(self, name: str, text: str) -> str:
        """Open an in-memory document as if it were ``content/<KIND>/<name>`` (no file is written)."""
        uri = (REPO / "content" / KIND / name).as_uri()
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
        return uri

    def diagnostics(self, uri: str) -> list[dict]:
        published = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                  and m["params"]["uri"] == uri, f"diagnostics for {uri}")
        return published["params"]["diagnostics"]

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                stream.close()


@pytest.fixture(scope="module")
def server():
    missing = [what for what, there in (("node", shutil.which("node")), (str(SERVER.relative_to(REPO)), SERVER.exists()))
               if not there]
    if missing:
        reason = f"{' and '.join(missing)} missing: run ./dev test (it runs npm ci)"
        pytest.skip(reason)  # a failure under CI (tests/conftest.py)
    lsp = LanguageServer()
    try:
        lsp.request("initialize", {"processId": os.getpid(), "rootUri": REPO.as_uri(), "capabilities": {
            "workspace": {"configuration": True},
            "textDocument": {"hover": {"contentFormat": ["markdown"]}, "completion": {}}}})
        lsp.notify("initialized", {})
        lsp.notify("workspace/didChangeConfiguration", {"params": None, "settings": SETTINGS})
        yield lsp
    finally:
        lsp.close()


def _line(text: str, start: str) -> int:
    return next(number for number, line in enumerate(text.splitlines()) if line.startswith(start))


def _labels(result, kind: int | None = None) -> set[str]:
    items = result["items"] if isinstance(result, dict) else result
    return {item["label"] for item in items if kind is None or item.get("kind") == kind}


def test_a_record_as_written_has_no_diagnostics_and_bad_fields_have(server):
    text = RECORD.read_text(encoding="utf-8")
    assert text.startswith(f"# yaml-language-server: $schema=../../schemas/{KIND}.schema.json\n")
    uri = server.open("lsp-check.yaml", text)
    assert server.diagnostics(uri) == []

    value = re.search(rf"^{ENUM_FIELD}: (.+)$", text, re.M).group(1)
    broken = text.replace(f"\n{ENUM_FIELD}: {value}\n", f"\n{ENUM_FIELD}: not-a-{ENUM_FIELD}\nnot_a_field: 1\n")
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": broken}]})
    found = {(d["range"]["start"]["line"], d["range"]["start"]["character"]): d for d in server.diagnostics(uri)}
    enum_line, unknown_line = _line(broken, f"{ENUM_FIELD}:"), _line(broken, "not_a_field:")
    assert set(found) == {(enum_line, len(ENUM_FIELD) + 2), (unknown_line, 0)}, found
    assert all(d["severity"] == 1 and d["source"].startswith("yaml-schema") for d in found.values())
    assert "not_a_field" in found[unknown_line, 0]["message"]
    wrong_enum = found[enum_line, len(ENUM_FIELD) + 2]["message"]
    assert all(f'"{choice}"' in wrong_enum for choice in SCHEMA["properties"][ENUM_FIELD]["enum"]), wrong_enum


def test_completion_offers_the_kinds_field_names(server):
    uri = server.open("lsp-fields.yaml", f"# yaml-language-server: $schema=../../schemas/{KIND}.schema.json\nid: x\n\n")
    offered = _labels(server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                                  "position": {"line": 2, "character": 0}}), PROPERTY)
    assert offered == set(SCHEMA["properties"]) - {"id"}


def test_completion_offers_an_enum_fields_values(server):
    text = f"# yaml-language-server: $schema=../../schemas/{KIND}.schema.json\nid: x\n{ENUM_FIELD}: \n"
    uri = server.open("lsp-values.yaml", text)
    offered = _labels(server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                                  "position": {"line": 2, "character": len(ENUM_FIELD) + 2}}))
    assert offered == set(SCHEMA["properties"][ENUM_FIELD]["enum"])


def test_hover_shows_the_fields_description(server):
    text = RECORD.read_text(encoding="utf-8")
    uri = server.open("lsp-hover.yaml", text)
    hover = server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": _line(text, f"{ENUM_FIELD}:"), "character": 1}})
    assert hover["contents"]["kind"] == "markdown"
    shown = " ".join(re.sub(r"\\(.)", r"\1", hover["contents"]["value"]).split())  # Markdown escapes undone
    description = SCHEMA["properties"][ENUM_FIELD]["description"]
    assert " ".join(description.split()) in shown, shown
