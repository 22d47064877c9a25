"""The gateway's web hardening: who the client is (X-Forwarded-For only from a trusted proxy),
security headers on every answer, CORS for the widget's allowed origins only, cross-site request
checks on the staff consoles, JSON errors, and uploaded photos decoded and re-encoded."""

from __future__ import annotations

import io
import ipaddress
import logging
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

from sanic import Sanic, response
from sanic.request import Request

logger = logging.getLogger(__name__)

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
UPLOAD_CSP = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'"
# Routes the widget calls from a shop page (which may be on another allowed origin).
WIDGET_PATHS = ("/widget/", "/api/history", "/api/upload", "/uploads/")
STAFF_PREFIXES = ("/agent", "/trainer", "/analytics")
CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PHOTO_PIXELS = 40_000_000


def is_trusted(peer: str, trusted_proxies: Sequence[str]) -> bool:
    """``trusted_proxies``: addresses or networks (10.0.0.0/8)."""
    if not peer or not trusted_proxies:
        return False
    if peer in trusted_proxies:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in trusted_proxies:
        try:
            if "/" in entry and address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The peer's address; behind a trusted proxy the address it put last into X-Forwarded-For."""
    peer = request.ip or ""
    if is_trusted(peer, trusted_proxies):
        forwarded = [part.strip() for part in (request.headers.get("x-forwarded-for") or "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return peer


def is_https(request: Request, trusted_proxies: Sequence[str]) -> bool:
    if request.scheme in ("https", "wss"):
        return True
    return is_trusted(request.ip or "", trusted_proxies) and (request.headers.get("x-forwarded-proto") or "").lower() == "https"


def own_origin(request: Request, trusted_proxies: Sequence[str]) -> str:
    return f"{'https' if is_https(request, trusted_proxies) else 'http'}://{request.host}"


def install(app: Sanic, allowed_origins: Iterable[str], trusted_proxies: Sequence[str]) -> None:
    widget_origins = set(allowed_origins)
    app.config.FALLBACK_ERROR_FORMAT = "json"

    @app.middleware("request")
    async def refuse_cross_site_staff_changes(request: Request):
        """A staff console's state-changing call must come from the console's own page (Origin)
        and carry JSON (a cross-site form or text/plain body never passes)."""
        if request.method not in CHANGING_METHODS or not request.path.startswith(STAFF_PREFIXES):
            return None
        origin = request.headers.get("origin")
        if origin and origin != own_origin(request, trusted_proxies) and origin not in widget_origins:
            return response.json({"error": "cross-site request refused"}, status=403)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json" and (content_type or request.body):
            return response.json({"error": "expected application/json"}, status=415)
        return None

    @app.middleware("request")
    async def refuse_foreign_uploads(request: Request):
        if request.method == "POST" and request.path == "/api/upload":
            origin = request.headers.get("origin")
            if origin and origin not in widget_origins and origin != own_origin(request, trusted_proxies):
                return response.json({"ok": False, "error": "origin not allowed"}, status=403)
        return None

    @app.middleware("response")
    async def security_headers(request: Request, reply):
        headers = reply.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/uploads/"):
            headers["Content-Security-Policy"] = UPLOAD_CSP
        else:
            headers.setdefault("Content-Security-Policy", PAGE_CSP)
        origin = request.headers.get("origin")
        if origin and origin in widget_origins and request.path.startswith(WIDGET_PATHS):
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Headers"] = "Content-Type, X-Buyer-Token"
            headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            headers["Access-Control-Max-Age"] = "600"
        if request.path.startswith(WIDGET_PATHS):
            headers["Vary"] = "Origin"

    async def preflight(_: Request, **__):
        return response.empty()

    for path in ("/widget/strings", "/api/history", "/api/upload"):
        app.add_route(preflight, path, methods=["OPTIONS"], name=f"preflight_{path.strip('/').replace('/', '_')}")


def reencode_photo(body: bytes) -> Optional[Tuple[bytes, str]]:
    """(the photo decoded and saved again, without its metadata, extension) or None when it is
    not a JPEG, PNG or WebP image that decodes."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(body)) as probe:
            kind = probe.format
            if kind not in PHOTO_FORMATS or probe.width * probe.height > MAX_PHOTO_PIXELS:
                return None
            probe.verify()
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            if kind == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")  # type: ignore[assignment]  # Pillow types open() as ImageFile
            out = io.BytesIO()
            options = {"quality": 90} if kind in ("JPEG", "WEBP") else {}
            image.save(out, format=kind, **options)
    except Exception:  # anything Pillow cannot read is not a photo
        return None
    return out.getvalue(), PHOTO_FORMATS[kind]


def remove_old_uploads(folder: Path, retention_days: float) -> int:
    """Deletes uploaded photos older than the retention; returns how many went."""
    if retention_days <= 0 or not folder.is_dir():
        return 0
    cutoff = time.time() - retention_days * 86400
    removed = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    if removed:
        logger.info("removed %d uploaded photos older than %g days", removed, retention_days)
    return removed
