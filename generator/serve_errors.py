"""`kb serve` with a broken record: the browser shows the errors, and the site again once fixed.

A build with errors stops in on_config, before MkDocs touches the site: right for `mkdocs build`
(`kb build` stops after the stage runner's checks, before any engine runs).
Under `mkdocs serve` that exception made the preview hang: LiveReloadServer's build loop then
skips advancing its epoch, and every page request waits for the epoch to catch up, so the
browser spun until the record was fixed; a first build with errors made serve exit.

So while serving, the hooks hand a build with errors to :class:`ServeErrors` instead of raising.
It remembers the diagnostics and lets MkDocs finish a build that renders no page (the generated
Markdown and the HTML stay as they were), so that the epoch advances. The server's WSGI app is
wrapped: while errors are held, every page request is answered with :func:`error_page`, which
carries MkDocs' live-reload script, so it reloads by itself when the next build is done and shows
the page once a build has no errors. Assets and the live-reload polling pass through untouched.
"""
from __future__ import annotations

import html
import logging
from typing import Iterable

import pathspec

from generator import sanitize
from generator.core import Diagnostic, errors_of, format_text

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
main { max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; color: #b00020; }
ol { padding-left: 1.5rem; }
li { margin: 0 0 1rem; }
code { font: 0.9em/1.4 ui-monospace, monospace; overflow-wrap: anywhere; }
.severity { font-weight: bold; color: #b00020; }
.warning { color: #8a5a00; }
.hint, .field { color: #555; }
@media (prefers-color-scheme: dark) {
  body { color: #e8e8e8; background: #1e1e1e; }
  h1, .severity { color: #ff6b6b; }
  .warning { color: #e0b050; }
  .hint, .field { color: #aaa; }
}
"""


def error_page(diagnostics: Iterable[Diagnostic]) -> str:
    """A small self-contained page listing every diagnostic, its text escaped: messages quote
    what the editor typed, which must show as text and never run. No script of its own; the
    server injects its live-reload script."""
    found = sorted(diagnostics)
    errors = len(errors_of(found))
    items = []
    for d in found:
        item = (f'<code>{_e(d.file)}:{d.line}:{d.column}</code> '
                f'<span class="severity {_e(d.severity)}">{_e(d.severity)}</span>: {_e(d.message)}')
        if d.field:
            item += f' <span class="field">[{_e(d.field)}]</span>'
        if d.hint:
            item += f'<div class="hint">hint: {_e(d.hint)}</div>'
        items.append(f"<li>{item}</li>")
    title = f"The knowledge base has {errors} error{'s' if errors != 1 else ''}"
    return ("<!doctype html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'  # no request for a favicon the site may not have
            f"<title>{title}</title><style>{_STYLE}</style></head>\n"
            f'<body><main><h1>{title}</h1>\n'
            "<p>The preview shows the site again once they are fixed: this page reloads by itself "
            "after the next save.</p>\n"
            f'<ol class="kb-serve-errors">\n{chr(10).join(items)}\n</ol></main></body></html>\n')


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


class ServeErrors:
    """The errors of the last build of a served site, and what the server does while it has some."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.diagnostics: tuple[Diagnostic, ...] = ()  # every diagnostic of the last build, if it had errors
        self._logged = False  # the held diagnostics were logged

    def held(self, config, diagnostics: Iterable[Diagnostic]) -> bool:
        """Called by on_config when serving: remember this build's diagnostics if it has errors
        (clear them if not). With errors, the build goes on without pages, and True is returned.

        Nothing is rendered: every page is excluded, and the navigation dropped because its pages
        may not exist yet (a first build), which strict mode would count as warnings and abort.
        The errors are logged after the build (:meth:`report`): strict mode would count them too."""
        diagnostics = tuple(diagnostics)
        if not errors_of(diagnostics):
            if self.diagnostics:
                self.log.info("The knowledge base has no errors any more: the preview shows the pages again")
            self.diagnostics = ()
            return False
        self.diagnostics, self._logged = diagnostics, False
        config["nav"] = None
        config["exclude_docs"] = pathspec.GitIgnoreSpec.from_lines(["*.md"])
        return True

    def report(self) -> None:
        """Log the held errors once, outside the build's strict-mode count."""
        if self.diagnostics and not self._logged:
            self.log.error("The knowledge base has errors: the preview shows them instead of the pages "
                           "until they are fixed\n%s", format_text(self.diagnostics))
            self._logged = True

    def serve(self, server):
        """on_serve: report the first build's errors, and those of each later build when it ends;
        answer page requests with the error page while there are errors."""
        self.report()
        builder = server.builder

        def build(*args, **kwargs):
            builder(*args, **kwargs)
            self.report()

        server.builder = build
        server.set_app(self._app(server, server.get_app()))
        return server

    def _app(self, server, app):
        def serve_request(environ, start_response):
            # Like MkDocs' own app: wait for a running build, so the answer is that of its end.
            with server._epoch_cond:
                server._epoch_cond.wait_for(lambda: server._visible_epoch == server._wanted_epoch)
                epoch, diagnostics = server._visible_epoch, self.diagnostics
            # Whether the answer is a page is read off the answer, not the address: MkDocs serves
            # a page at addresses that do not end in .html ('x.html%FF', 'x.html/.'), and a 404
            # page at any address.
            status, headers, body = _answer(app, environ)
            if not _is_html(headers):
                start_response(status, headers)
                return [body]
            if diagnostics:
                return self._error_response(server, epoch, diagnostics, start_response)
            # The page's Content-Security-Policy as a header: a built page carries it as a meta tag,
            # a served one cannot (MkDocs injects its live-reload script, new on every request, after
            # the hooks have run), so it is worked out on the final HTML, that script included.
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
            headers += [("Content-Length", str(len(body))),
                        ("Content-Security-Policy",
                         sanitize.policy(body.decode("utf-8", "replace"), live_reload=True))]
            start_response(status, headers)
            return [body]

        return serve_request

    def _error_response(self, server, epoch, diagnostics, start_response):
        """The error page with MkDocs' live-reload script for this epoch. The Content-Security-
        Policy allows that one script and the page's style, nothing else.

        Status 200, not 500: MkDocs logs every other status as a warning, and a warning logged
        while the next build runs counts in strict mode and aborts that build."""
        body = server._inject_js_into_html(error_page(diagnostics).encode(), epoch)
        start = body.rindex(b"<script>") + len(b"<script>")
        script = body[start:body.index(b"</script>", start)]
        policy = (f"default-src 'none'; script-src {sanitize.source_hash(script)}; style-src {sanitize.source_hash(_STYLE.encode())}; "
                  "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'")
        start_response("200 OK", [
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"), ("Content-Security-Policy", policy)])
        return [body]


def _answer(app, environ) -> tuple[str, list, bytes]:
    """MkDocs' answer to a request: its status, headers and whole body."""
    answer: dict = {}

    def keep(status, headers, exc_info=None):
        answer.update(status=status, headers=headers)
        return lambda data: None  # MkDocs' app returns its body; it never calls write()

    result = app(environ, keep)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return answer["status"], list(answer["headers"]), body


def _is_html(headers) -> bool:
    return any(name.lower() == "content-type" and value.lower().startswith("text/html") for name, value in headers)
