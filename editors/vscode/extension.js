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
    vscode.window.showErrorMessage(
      `nnci: could not start \`${path} lsp\` (${error.message}). Install it with ` +
        "`pip install 'nnci[lsp]'`, or set `nnci.server.path` to the nnci in your virtual environment.",
    );
  }
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

async function activate(context) {
  await start(context);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("nnci.server")) {
        if (client) await client.stop();
        await start(context);
      }
    }),
    vscode.commands.registerCommand("nnci.restartServer", async () => {
      if (client) await client.stop();
      await start(context);
    }),
  );
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate };
