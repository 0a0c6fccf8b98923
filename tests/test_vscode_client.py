"""editors/vscode/extension.js, run by node against stand-ins for `vscode` and `vscode-languageclient/node`:
it starts `nnci lsp` over stdio with the command the setting names, restarts on a changed setting,
and says what to do when the server cannot start."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parent.parent / "editors" / "vscode" / "extension.js"

HARNESS = r"""
const Module = require("module");
const events = [];
let settings = JSON.parse(process.argv[1]);
let failStart = process.argv[2] === "fail";
let configListener = null;
const vscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key, fallback) => {
      const value = settings[section + "." + key]; return value === undefined ? fallback : value; } }),
    createFileSystemWatcher: (glob) => ({ glob }),
    onDidChangeConfiguration: (listener) => { configListener = listener; return { dispose() {} }; },
  },
  window: { showErrorMessage: (message) => events.push({ error: message }) },
  commands: { registerCommand: (name) => { events.push({ command: name }); return { dispose() {} }; } },
};
class LanguageClient {
  constructor(id, name, server, client) {
    events.push({ client: id, server, selector: client.documentSelector });
  }
  // as vscode-languageclient 9 does: a client that failed to start, or stopped, cannot be stopped
  async start() { if (failStart) throw new Error("spawn nnci ENOENT"); this.running = true; events.push({ started: true }); }
  isRunning() { return this.running === true; }
  async stop() {
    if (!this.running) throw new Error("Client is not running and can't be stopped. It's current state is: startFailed");
    this.running = false; events.push({ stopped: true });
  }
}
const stubs = { vscode, "vscode-languageclient/node": { LanguageClient, TransportKind: { stdio: 0, ipc: 1 } } };
const load = Module._load;
Module._load = function (request, ...rest) { return request in stubs ? stubs[request] : load.call(this, request, ...rest); };
const extension = require(process.argv[3]);
(async () => {
  const context = { subscriptions: [] };
  await extension.activate(context);
  settings = { "nnci.server.path": "/venv/bin/nnci" };
  failStart = false;
  await configListener({ affectsConfiguration: (section) => section === "nnci.server" });
  await extension.deactivate();
  console.log(JSON.stringify(events));
})();
"""


def run_extension(settings: dict[str, object], fail: bool = False) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the extension's client is JavaScript)")
    argv = [node, "-e", HARNESS, "--", json.dumps(settings), "fail" if fail else "ok", str(EXTENSION)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_the_client_starts_nnci_lsp_over_stdio() -> None:
    events = run_extension({})
    first = events[0]
    assert first == {
        "client": "nnci",
        "server": {"command": "nnci", "args": ["lsp"], "transport": 0},  # TransportKind.stdio
        "selector": [{"scheme": "file", "language": "nnci"}, {"scheme": "untitled", "language": "nnci"}],
    }
    assert events[1] == {"started": True}
    assert {"command": "nnci.restartServer"} in events


def test_a_changed_setting_restarts_the_server_with_it() -> None:
    events = run_extension({"nnci.server.path": "nnci"})
    clients = [e["server"] for e in events if "server" in e]
    assert [c["command"] for c in clients] == ["nnci", "/venv/bin/nnci"]  # type: ignore[index]
    restart = events.index({"stopped": True})
    assert "server" in events[restart + 1] and events[-1] == {"stopped": True}  # and deactivate stops it


def test_a_server_that_cannot_start_is_explained() -> None:
    events = run_extension({"nnci.server.path": "/nowhere/nnci"}, fail=True)
    (error,) = [e["error"] for e in events if "error" in e]
    assert "`/nowhere/nnci lsp`" in error and "nnci.server.path" in error and ".[lsp]" in error  # type: ignore[operator]
    assert "spawn nnci ENOENT" in error  # type: ignore[operator]


def test_a_corrected_setting_starts_the_server_that_could_not_start() -> None:
    """The error sends the user to `nnci.server.path`; changing it must start the server (a client
    that failed to start cannot be stopped, and the restart must not stop there)."""
    events = run_extension({"nnci.server.path": "/nowhere/nnci"}, fail=True)
    assert [e["server"]["command"] for e in events if "server" in e] == ["/nowhere/nnci", "/venv/bin/nnci"]  # type: ignore[index]
    assert {"started": True} in events
