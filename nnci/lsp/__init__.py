"""`nnci lsp`: the language server (live diagnostics, values on hover, definitions, references,
completion, formatting, outline) over stdio.

pygls is an optional extra (`pip install '.[lsp]'` in a clone), imported only when the server starts: the
modules beside `server.py` know nothing of the protocol and are what the tests exercise directly.
"""

from __future__ import annotations

import sys

HINT = "nnci lsp: the language server needs pygls, the lsp extra: pip install '.[lsp]' in a clone of nnci"


def main() -> int:
    """Serve over stdio; without pygls, say how to install it (exit 2)."""
    try:
        from nnci.lsp.server import serve
    except ImportError as error:  # pygls or lsprotocol missing (or unusable): said in one line
        if (error.name or "").partition(".")[0] not in ("pygls", "lsprotocol"):
            raise
        print(HINT, file=sys.stderr)
        return 2

    serve()
    return 0
