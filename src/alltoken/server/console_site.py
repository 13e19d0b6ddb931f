"""The developer console: the single-page app that scripts/setup builds from console/, served at `/`.

Its route comes after every API route, so the /v1 hot path never reaches it. Client-side routes get
index.html (never cached: it names the current build's assets); the hashed assets under /assets/
are cached for a year. Every response carries a strict Content-Security-Policy: the build has no
inline script or style, and nothing loads from another origin."""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles

BUILD_DIR = Path(__file__).parent.parent / "console_dist"    # git-ignored; console/vite.config.ts writes it

# Paths of the APIs: an unknown one stays an API 404 (or 405) in the error shape, never the console's page.
_API_PREFIXES = frozenset({"v1", "api", "health", "metrics", "status"})

_CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "content-security-policy": _CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",                  # frame-ancestors for browsers that predate it
    "cross-origin-opener-policy": "same-origin",
}
_HASHED = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"

_NOT_BUILT = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>AllToken console not built</title>
<h1>The AllToken console has not been built</h1>
<p>The gateway and its APIs are running; only the web console is missing. Build it, then reload this page:</p>
<pre>scripts/setup</pre>
<p>(it needs Node.js and npm), or by hand: <code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code>.
See docs/console.md.</p>
<p>Meanwhile: the management API is described at <a href="/api/openapi.json">/api/openapi.json</a> and
provider health is at <a href="/status">/status</a>.</p>
</html>
"""


class ConsoleSite:
    def __init__(self, directory: Path):
        self.directory = directory
        self.files = StaticFiles(directory=directory, check_dir=False)

    async def serve(self, request: Request) -> Response:
        path = request.url.path.lstrip("/")
        if not is_built(self.directory):
            return HTMLResponse(_NOT_BUILT, status_code=503, headers={**SECURITY_HEADERS, "cache-control": "no-store"})
        response = await self._file(path, request)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _file(self, path: str, request: Request) -> Response:
        if path.startswith("assets/"):
            try:
                response = await self.files.get_response(path, request.scope)
            except HTTPException:   # an asset of an older build: a 404, not the page in its place
                return PlainTextResponse("no such asset", status_code=404)
            response.headers["cache-control"] = _HASHED
            return response
        try:  # a file of console/public (the icon), else a client-side route
            response = await self.files.get_response(path or "index.html", request.scope)
        except HTTPException:
            response = await self.files.get_response("index.html", request.scope)
        response.headers["cache-control"] = _REVALIDATE
        return response


class _ConsoleRoute(Route):
    """Every GET path but the APIs' own."""

    def matches(self, scope):
        if scope["type"] == "http" and scope["path"].lstrip("/").split("/", 1)[0] in _API_PREFIXES:
            return Match.NONE, {}
        return super().matches(scope)


def console_directory(console_dir: str | None) -> Path:
    """Where the built console is: the `console_dir` setting, else where scripts/setup builds it."""
    return Path(console_dir) if console_dir else BUILD_DIR


def is_built(directory: Path) -> bool:
    return (directory / "index.html").is_file()


def console_route(directory: Path) -> Route:
    return _ConsoleRoute("/{path:path}", ConsoleSite(directory).serve, methods=["GET", "HEAD"])
