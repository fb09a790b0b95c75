"""Serve the built web shop (`services/web/dist`) at `/`, with the SPA fallback to index.html."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, PlainTextResponse, Response

IMMUTABLE = "public, max-age=31536000, immutable"


def _inside(dist: Path, relative: str) -> Path | None:
    """The file `relative` under `dist`, or None (missing, a directory, or outside `dist`)."""
    root = dist.resolve()
    candidate = (root / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        return candidate
    return None


def web_response(dist: Path, path: str) -> Response:
    """A static file of the build; index.html for client-side routes; 404 for a missing file."""
    found = _inside(dist, path) if path else None
    if found is not None:
        cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache})
    if "." in path.rsplit("/", 1)[-1]:
        return PlainTextResponse(f"Not found: /{path}", status_code=404)
    index = dist / "index.html"
    if not index.is_file():
        return PlainTextResponse(
            f"The web shop is not built: run `npm ci && npm run build` in services/web "
            f"(expected {index}).",
            status_code=503,
        )
    return FileResponse(index, headers={"Cache-Control": "no-cache"})

