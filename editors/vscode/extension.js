// The nnci extension's client: starts `nnci lsp` over stdio for .nnci files, as the setting
// `nnci.server.path` names it (default `nnci` on PATH). Plain JavaScript: no build step.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const settings = vscode.workspace.getConfiguration("nnci");
  const command = settings.get("server.path", "nnci");
  const args = settings.get("server.args", ["lsp"]);
  return { command, args, transport: TransportKind.stdio };
}

async function start(context) {
  client = new LanguageClient(
    "nnci",
    "nnci language server",
    serverOptions(),
    {
      documentSelector: [
        { scheme: "file", language: "nnci" },
        { scheme: "untitled", language: "nnci" },
      ],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{nnci,csv}") },
    },
  );
  try {
    await client.start();
  } catch (error) {
    const path = serverOptions().command;
    const reason = (error && error.message) || String(error);
    vscode.window.showErrorMessage(
      `nnci: could not start \`${path} lsp\` (${reason}). Install nnci with its language server ` +
        "(in a clone of nnci: `.venv/bin/pip install '.[lsp]'`), then set `nnci.server.path` to that " +
        "`.venv/bin/nnci` (a changed setting restarts the server).",
    );
  }
  context.subscriptions.push({ dispose: () => stop() });
}

// Stops the client if it runs: one that failed to start cannot be stopped (vscode-languageclient
// throws), and a restart after a corrected setting must still go ahead.
async function stop() {
  if (client && client.isRunning()) {
    try {
      await client.stop();
    } catch (error) {
      console.error("nnci: stopping the language server:", error);
    }
  }
  client = undefined;
}

async function activate(context) {
  await start(context);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("nnci.server")) {
        await stop();
        await start(context);
      }
    }),
    vscode.commands.registerCommand("nnci.restartServer", async () => {
      await stop();
      await start(context);
    }),
  );
}

async function deactivate() {
  await stop();
}

module.exports = { activate, deactivate };
