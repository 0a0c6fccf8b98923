"""`nnci lsp`: the language server (live diagnostics, values on hover, definitions, references,
completion, formatting, outline) over stdio.

pygls is an optional extra (`pip install 'nnci[lsp]'`), imported only when the server starts: the
modules beside `server.py` know nothing of the protocol and are what the tests exercise directly.
"""

from __future__ import annotations

import importlib.util
import sys

HINT = "nnci lsp: the language server needs pygls: pip install 'nnci[lsp]'"


def main() -> int:
    """Serve over stdio; without pygls, say how to install it (exit 2)."""
    if importlib.util.find_spec("pygls") is None or importlib.util.find_spec("lsprotocol") is None:
        print(HINT, file=sys.stderr)
        return 2
    from nnci.lsp.server import serve

    serve()
    return 0
