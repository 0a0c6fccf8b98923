"""The pygls wiring of `nnci lsp`: documents in, diagnostics, hovers, locations, completions,
edits and outlines out. Everything it says is computed by the protocol-free modules beside it;
this module converts positions and types, and schedules the analyses.

An edit is analysed after a quiet time without another (each keystroke cancels the pending
analysis): as long as the last analysis took, between QUIET_MIN and QUIET_MAX seconds, so a small
file answers at once and a large one is not analysed on every keystroke; the documents that import
the edited one are analysed again with it. Analyses run in a worker thread, one at a time, so the
event loop goes on reading messages: a hover on another document is answered meanwhile (from an
analysis of its own on the loop, if it has none yet). Each open
document is published the diagnostics that point into it from every open document's analysis,
so an error in an imported file that is open shows there too, and is cleared when fixed.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from nnci import cache
from nnci.diagnostics import Diagnostic, Span, source_lines
from nnci.lsp import completion, hover, navigation, outline
from nnci.lsp.analysis import Analysis, analyse, key_of, path_of
from nnci.lsp.positions import UTF16, LineIndex, Position, index_of

QUIET_MIN, QUIET_MAX = 0.02, 0.15  # seconds of quiet after an edit before it is analysed
MAX_SHOWN = 200  # diagnostics given a document, as `nnci check` prints at most (the rest counted)

SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}
COMPLETION_KIND = {
    "keyword": types.CompletionItemKind.Keyword, "field": types.CompletionItemKind.Field,
    "unit": types.CompletionItemKind.Unit, "module": types.CompletionItemKind.Module,
    "record": types.CompletionItemKind.Constant, "method": types.CompletionItemKind.EnumMember,
    "block": types.CompletionItemKind.Reference, "quantity": types.CompletionItemKind.Property,
}  # fmt: skip
SYMBOL_KIND = {
    "module": types.SymbolKind.Module, "field": types.SymbolKind.Field, "figure": types.SymbolKind.Variable,
    "expect": types.SymbolKind.Event, "training": types.SymbolKind.Function, "inference": types.SymbolKind.Function,
}  # fmt: skip


class NnciLanguageServer(LanguageServer):
    def __init__(self) -> None:
        from nnci import __version__

        super().__init__("nnci", __version__)
        self.analyses: dict[str, Analysis] = {}  # by document URI
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.published: dict[str, list[types.Diagnostic]] = {}  # what each URI was last given, if not empty
        self.sent: set[str] = set()  # URIs given diagnostics at least once since they were opened
        self.cost: dict[str, float] = {}  # by URI, seconds its last analysis took: the quiet time before the next
        self.analysing = asyncio.Lock()  # one analysis thread at a time: typing never piles them up

    # -- documents and analyses -------------------------------------------------------------

    @property
    def encoding(self) -> str:
        chosen = self.workspace.position_encoding or UTF16
        return str(getattr(chosen, "value", chosen))  # the protocol's name: `utf-16`, not the enum's

    def open_uris(self) -> list[str]:
        return list(self.workspace.text_documents)

    def buffers(self) -> dict[Path, str]:
        return {path_for(uri): self.workspace.get_text_document(uri).source for uri in self.open_uris()}

    def analysis(self, uri: str) -> Analysis | None:
        """The document's analysis as of its current text (analysed now if an edit is pending)."""
        document = self.workspace.get_text_document(uri)
        found = self.analyses.get(uri)
        if found is None or found.text != document.source:
            found = self.analyses[uri] = analyse(path_for(uri), document.source, self.buffers())
        return found

    def schedule(self, uri: str, wait: bool = True, again: bool = False) -> None:
        """Analyse a document soon, off the event loop (`wait`: after a quiet time for more keystrokes;
        `again`: even if its text is the one last analysed, as after a save or a change on disk), then
        the open documents that import it, and publish. A newer call cancels the pending one."""
        pending = self.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()

        async def later() -> None:
            if wait:
                await asyncio.sleep(self.quiet(uri))
            try:
                await self.refresh(uri, again)
            except Exception as error:  # logged, not raised into the event loop
                self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"nnci lsp: {error!r}"))
            finally:
                if self.pending.get(uri) is task:
                    del self.pending[uri]

        task = self.pending[uri] = asyncio.get_running_loop().create_task(later())

    async def refresh(self, uri: str, again: bool) -> None:
        changed = await self.analysed(uri, again)
        if changed is None:
            return  # edited or closed meanwhile: the task of that edit answers
        analysed = {uri}
        for other, found in list(self.analyses.items()):
            if other != uri and changed.key in found.loaded.modules and await self.analysed(other, True):
                analysed.add(other)
        self.publish(analysed)

    async def analysed(self, uri: str, again: bool) -> Analysis | None:
        """The document analysed as its text is now, in a worker thread, one analysis at a time (the
        event loop goes on reading messages meanwhile); None if it changed or closed in the meantime."""
        async with self.analysing:
            if uri not in self.workspace.text_documents:
                return None
            text = self.workspace.get_text_document(uri).source
            found = self.analyses.get(uri)
            if found is not None and found.text == text and not again:
                return found
            start = time.perf_counter()
            work = asyncio.ensure_future(asyncio.to_thread(analyse, path_for(uri), text, self.buffers()))
            try:
                found = await asyncio.shield(work)
            except asyncio.CancelledError:  # a newer edit: its analysis waits for this thread to end
                await asyncio.wait([work])
                raise
            self.cost[uri] = time.perf_counter() - start
            if uri not in self.workspace.text_documents or self.workspace.get_text_document(uri).source != text:
                return None
            self.analyses[uri] = found
            return found

    def quiet(self, uri: str) -> float:
        """How long to wait for another keystroke before analysing: about what the document's last
        analysis cost (a large file open beside does not slow a small one's answers)."""
        return min(QUIET_MAX, max(QUIET_MIN, self.cost.get(uri, QUIET_MIN)))

    def publish(self, analysed: set[str] | None = None) -> None:
        """Every open document's diagnostics: those of its own analysis and those other open documents'
        analyses found in it. Those in an imported file that is not open go to that file (an editor
        lists them) and are counted at the import that leads to it. A document that had some and has
        none now is sent an empty list."""
        found_in: dict[str, list[tuple[Diagnostic, Analysis]]] = {uri: [] for uri in self.published}
        extra: dict[str, list[types.Diagnostic]] = {}
        seen: dict[str, set[Diagnostic]] = {}
        open_uris = set(self.open_uris())
        for uri in open_uris:
            found_in.setdefault(uri, [])
        for root_uri, found in self.analyses.items():
            elsewhere: dict[str, list[Diagnostic]] = {}
            for diagnostic in found.diagnostics:
                uri = self.uri_of(diagnostic.span.file) if diagnostic.span else root_uri
                if uri not in open_uris and diagnostic.span is not None:
                    elsewhere.setdefault(diagnostic.span.file, []).append(diagnostic)
                if diagnostic in seen.setdefault(uri, set()):
                    continue
                seen[uri].add(diagnostic)
                found_in.setdefault(uri, []).append((diagnostic, found))
            extra.setdefault(root_uri, []).extend(self.imported_problems(found, elsewhere))
        by_uri: dict[str, list[types.Diagnostic]] = {}
        for uri, pairs in found_in.items():  # only those shown are converted (a broken file may have 10,000)
            diagnostics = [self.diagnostic(d, found) for d, found in pairs[:MAX_SHOWN]] + extra.get(uri, [])
            if len(pairs) > MAX_SHOWN:
                diagnostics.append(types.Diagnostic(diagnostics[-1].range, f"and {len(pairs) - MAX_SHOWN:,} more "
                                                    "(run `nnci check` on the file for all of them)",
                                                    types.DiagnosticSeverity.Information, source="nnci"))  # fmt: skip
            by_uri[uri] = diagnostics
        for uri, diagnostics in by_uri.items():
            fresh = analysed is None or uri in analysed or uri not in self.sent
            if not fresh and diagnostics == self.published.get(uri, []):
                continue  # unchanged: an edit elsewhere does not resend a large file's diagnostics
            version = self.workspace.get_text_document(uri).version if uri in open_uris else None
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )
            self.sent.add(uri)
        self.published = {uri: diagnostics for uri, diagnostics in by_uri.items() if diagnostics}

    def imported_problems(self, found: Analysis, elsewhere: dict[str, list[Diagnostic]]) -> list[types.Diagnostic]:
        """At each import of the document, a count of the problems in the files it brings in that are
        not open (the first one said), so a job whose figures they spoil does not look fine."""
        module = found.module()
        if module is None or not elsewhere:
            return []
        reached = {alias: _reachable(found, key) for alias, key in found.loaded.imports.get(found.key, {}).items()}
        shown = []
        for statement in module.imports:
            problems = [d for key, found_there in elsewhere.items() if key in reached.get(statement.alias, ())
                        for d in found_there]  # fmt: skip
            errors = [d for d in problems if d.severity == "error"]
            if not errors:
                continue
            first, span = errors[0], statement.span
            lines = source_lines(found.text)
            width = len(lines[span.line - 1].rstrip()) if span.line <= len(lines) else span.column
            shown.append(types.Diagnostic(
                range=self.range(Span(span.file, span.line, span.column, span.line, width + 1), found),
                message=f"`{statement.path}` has {len(errors)} error{'s' if len(errors) != 1 else ''}: "
                f"{first.message} (at {first.span})",
                severity=types.DiagnosticSeverity.Error,
                code=first.code,
                source="nnci",
                related_information=[types.DiagnosticRelatedInformation(self.location(d.span, found), d.message)
                                     for d in errors[:10] if d.span is not None],
            ))  # fmt: skip
        return shown

    # -- conversions --------------------------------------------------------------------------

    def uri_of(self, key: str) -> str:
        """The URI of a module: the open document it is (whatever its scheme), else its file."""
        opened = next((uri for uri, found in self.analyses.items() if found.key == key), None)
        return opened or from_fs_path(str(path_of(key))) or key

    def lines(self, key: str, found: Analysis) -> LineIndex:
        """The line index of a module's text as `found` read it (or another open document's analysis did:
        a reference found in a file the document does not import)."""
        for analysis in (found, *self.analyses.values()):
            if key in analysis.loaded.sources:
                return index_of(analysis.loaded.sources[key], self.encoding)
        return index_of("", self.encoding)

    def range(self, span: Span | None, found: Analysis) -> types.Range:
        if span is None:
            return types.Range(types.Position(0, 0), types.Position(0, 0))
        converted = self.lines(span.file, found).range_of(span)
        return types.Range(_position(converted.start), _position(converted.end))

    def location(self, span: Span, found: Analysis) -> types.Location:
        return types.Location(self.uri_of(span.file), self.range(span, found))

    def diagnostic(self, diagnostic: Diagnostic, found: Analysis) -> types.Diagnostic:
        message = "\n".join([diagnostic.message, *(f"note: {n}" for n in diagnostic.notes),
                             *([f"help: {diagnostic.help}"] if diagnostic.help else [])])  # fmt: skip
        related = [types.DiagnosticRelatedInformation(self.location(span, found), what)
                   for what, span in diagnostic.related]  # fmt: skip
        return types.Diagnostic(
            range=self.range(diagnostic.span, found),
            message=message,
            severity=SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Information),
            code=diagnostic.code,
            source="nnci",
            related_information=related or None,
        )

    def cursor(self, uri: str, position: types.Position) -> tuple[Analysis, int, int] | None:
        """The analysis of a document and the nnci line and column of an LSP position in it."""
        found = self.analysis(uri)
        if found is None:
            return None
        line, column = index_of(found.text, self.encoding).nnci_at(Position(position.line, position.character))
        return found, line, column

    def indexes(self, found: Analysis) -> list[navigation.Index]:
        """The indexes references are looked for in: every module of every open document's program
        except the standard library's (its records refer to nothing of the user's)."""
        keys: dict[str, Analysis] = {}
        for analysis in [found, *self.analyses.values()]:
            for key in analysis.loaded.modules:
                if not key.startswith("std/") or key == analysis.key:
                    keys.setdefault(key, analysis)
        return [navigation.index(analysis.loaded, key, analysis.memo) for key, analysis in keys.items()]


def _reachable(found: Analysis, key: str) -> set[str]:
    """The module `key` and every module it imports, directly or not."""
    reached, stack = set(), [key]
    while stack:
        current = stack.pop()
        if current not in reached:
            reached.add(current)
            stack.extend(found.loaded.imports.get(current, {}).values())
    return reached


def path_for(uri: str) -> Path:
    """The file a document is (an unsaved `untitled:` one: a file of that name in the working folder,
    so that its imports are relative to it)."""
    path = to_fs_path(uri)
    if path is not None and uri.startswith("file:"):
        return Path(path)
    name = uri.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "untitled"
    return Path(os.getcwd()) / (name if name.endswith(".nnci") else name + ".nnci")


def _position(position: Position) -> types.Position:
    return types.Position(position.line, position.character)


Handler = Callable[..., Any]


def _safe(default: object) -> Callable[[Handler], Handler]:
    """A handler that fails answers `default` and logs why (to the client's log), so one odd document
    does not turn into error pop-ups or stop the session."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def guarded(ls: NnciLanguageServer, params: object) -> object:
            try:
                return handler(ls, params)
            except Exception as error:
                ls.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                             f"nnci lsp: {handler.__name__}: {error!r}"))  # fmt: skip
                return default() if callable(default) else default

        return guarded

    return decorate


def build() -> NnciLanguageServer:
    """The server with every feature registered (started by `nnci lsp`, driven by the tests)."""
    server = NnciLanguageServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_safe(None)
    def did_open(ls: NnciLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, wait=False)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_safe(None)
    def did_change(ls: NnciLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @_safe(None)
    def did_save(ls: NnciLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, wait=False, again=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_safe(None)
    def did_close(ls: NnciLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = ls.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        ls.sent.discard(uri)
        ls.cost.pop(uri, None)
        closed = ls.analyses.pop(uri, None)
        for other, found in list(ls.analyses.items()):  # they read the file from disk again
            if closed is not None and closed.key in found.loaded.modules:
                ls.schedule(other, wait=False, again=True)
        ls.publish()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @_safe(None)
    def did_change_files(ls: NnciLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        """A file changed on disk (an import or table that is not open): the documents that read it again."""
        keys = {key_of(path_for(change.uri)) for change in params.changes}
        stale = [uri for uri, found in ls.analyses.items()
                 if keys & (set(found.loaded.modules) | set(found.loaded.tables) | set(found.loaded.series))]  # fmt: skip
        for uri in stale:
            ls.schedule(uri, wait=False, again=True)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_safe(None)
    def on_hover(ls: NnciLanguageServer, params: types.HoverParams) -> types.Hover | None:
        at = ls.cursor(params.text_document.uri, params.position)
        if at is None:
            return None
        found, line, column = at
        shown = hover.hover(found, line, column)
        if shown is None:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, shown.markdown), ls.range(shown.span, found))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_safe(None)
    def on_definition(ls: NnciLanguageServer, params: types.DefinitionParams) -> types.Location | None:
        at = ls.cursor(params.text_document.uri, params.position)
        if at is None:
            return None
        found, line, column = at
        occurrence = navigation.index(found.loaded, found.key, found.memo).at(line, column)
        if occurrence is None:
            return None
        span = navigation.definition(found.loaded, occurrence.target)
        return ls.location(span, found) if span is not None else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @_safe(list)
    def on_references(ls: NnciLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
        at = ls.cursor(params.text_document.uri, params.position)
        if at is None:
            return []
        found, line, column = at
        occurrence = navigation.index(found.loaded, found.key, found.memo).at(line, column)
        if occurrence is None:
            return []
        target = occurrence.target
        spans = navigation.references(ls.indexes(found), target, params.context.include_declaration)
        if params.context.include_declaration:
            written = navigation.definition(found.loaded, target)
            if written is not None and written not in spans:
                spans.insert(0, written)
        return [ls.location(span, found) for span in spans]

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", " ", "="]))
    @_safe(None)
    def on_completion(ls: NnciLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        line, column = index_of(text, ls.encoding).nnci_at(Position(params.position.line, params.position.character))
        found = ls.analyses.get(uri)  # as of the last analysis: the text being typed need not parse
        items = [
            types.CompletionItem(
                label=item.label,
                kind=COMPLETION_KIND.get(item.kind),
                detail=item.detail or None,
                documentation=item.documentation or None,
                insert_text=item.insert,
            )
            for item in completion.complete(found, text, line, column)
        ]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_safe(list)
    def on_formatting(ls: NnciLanguageServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        edits, _problems = outline.formatting_edits(text, uri)  # a file that does not parse is left alone
        lines = index_of(text, ls.encoding)
        return [types.TextEdit(types.Range(_position(lines.position_of(e.start)), _position(lines.position_of(e.end))),
                               e.text) for e in edits]  # fmt: skip

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_safe(list)
    def on_symbols(ls: NnciLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        found = ls.analysis(params.text_document.uri)
        module = found.module() if found is not None else None
        if found is None or module is None:
            return []

        def convert(symbol: outline.Symbol) -> types.DocumentSymbol:
            return types.DocumentSymbol(
                name=symbol.name,
                kind=SYMBOL_KIND.get(symbol.kind, types.SymbolKind.Class),
                range=ls.range(symbol.span, found),
                selection_range=ls.range(symbol.name_span, found),
                detail=symbol.detail or None,
                children=[convert(child) for child in symbol.children] or None,
            )

        return [convert(symbol) for symbol in outline.outline(module, found.text)]

    return server


def serve() -> None:
    """Run over stdio until the client says exit."""
    cache.keep_in_memory()
    build().start_io()
