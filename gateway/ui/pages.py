"""The web interface's routes: server-rendered page shells under /ui and their static files under /ui/static.

A page shell holds no data and needs no key: the browser keeps the key in sessionStorage and the page's script
asks the gateway's JSON API (/v1/...) for everything, so the API's own scope checks are the only ones.
Controls that need the admin scope are rendered `hidden` and shown only after /v1/whoami says so.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from gateway.ui import i18n

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
TEMPLATES_DIR = os.path.join(os.path.dirname(__file__), "templates")

# The interface's script only talks to its own origin; nothing is loaded from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}


class Page(NamedTuple):
    """One page of the interface: its path under /ui and the scope its controls need."""

    name: str
    scope: str


PAGES = (Page("try", "predict"), Page("versions", "read"), Page("changes", "admin"),
         Page("quality", "read"), Page("keys", "admin"))
_PAGES_BY_NAME = {page.name: page for page in PAGES}

router = APIRouter(prefix="/ui", include_in_schema=False)
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                                autoescape=jinja2.select_autoescape(["html"]),
                                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@router.api_route("", methods=["GET", "HEAD"], response_class=HTMLResponse)
@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def signin_page(request: Request, lang: Optional[str] = None) -> HTMLResponse:
    """The sign-in page: one field for the access key."""
    return _render(request, "signin", lang)


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static_file(name: str) -> FileResponse:
    """A file of the interface (CSS, JS, icon) from the package itself."""
    extension = os.path.splitext(name)[1]
    path = os.path.join(STATIC_DIR, name)
    if os.path.basename(name) != name or extension not in _STATIC_TYPES or not os.path.isfile(path):
        raise HTTPException(status_code=404, detail=f"no interface file {name!r}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return FileResponse(path, media_type=_STATIC_TYPES[extension], headers=headers)


@router.api_route("/{name}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def page(request: Request, name: str, lang: Optional[str] = None) -> HTMLResponse:
    """One page shell of the interface (see PAGES); its script fills it in."""
    if name not in _PAGES_BY_NAME:
        raise HTTPException(status_code=404, detail=f"no page {name!r} in the interface")
    return _render(request, name, lang)


def _render(request: Request, name: str, lang: Optional[str]) -> HTMLResponse:
    language = i18n.choose_language(lang, request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    root = request.scope.get("root_path", "").rstrip("/")
    context = {
        "page": name, "pages": PAGES, "lang": language, "root": root, "base": root + "/ui",
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "messages": i18n.catalog(language),
        "t": lambda key, **params: i18n.translate(language, key, **params),
    }
    html = _templates.get_template(f"{name}.html").render(context)
    response = HTMLResponse(html, headers=SECURITY_HEADERS)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, path=root + "/ui", samesite="lax")
    return response
