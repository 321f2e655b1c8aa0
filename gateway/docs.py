"""Developer documentation at /docs, rendered by Swagger UI from the PyPI `swagger-ui-bundle` package's files.

Nothing loads from outside: the page, its script, styles and the OpenAPI JSON all come from this gateway, and
the Content-Security-Policy (`middleware.SecurityHeaders`) forbids every other origin. FastAPI's own /docs (a CDN
page) is switched off in `create_app`.
"""

from __future__ import annotations

import os

import swagger_ui_bundle
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["router", "assets"]

ASSETS_DIR = swagger_ui_bundle.swagger_ui_path
router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nlp2prod API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
# An external script (not inline) so that the CSP needs no 'unsafe-inline' for scripts.
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null,
  persistAuthorization: false, tryItOutEnabled: false
});
"""


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get("/docs/init.js")
async def docs_script() -> Response:
    return Response(_INIT, media_type="application/javascript")


def assets() -> StaticFiles:
    """The Swagger UI files, mounted at /docs/assets."""
    if not os.path.isfile(os.path.join(ASSETS_DIR, "swagger-ui-bundle.js")):
        raise RuntimeError(f"swagger-ui-bundle's files are missing under {ASSETS_DIR}")
    return StaticFiles(directory=ASSETS_DIR)


def as_openapi_30(node):
    """FastAPI's OpenAPI 3.1 document in the 3.0 dialect that the bundled Swagger UI (4.15) renders:
    `anyOf [X, null]` becomes `X` + `nullable`, schema `examples` lists become `example`."""
    if isinstance(node, list):
        return [as_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_openapi_30(value) for key, value in node.items()}
    variants = converted.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        converted.pop("anyOf")
        if len(rest) == 1:
            converted.update(rest[0])
        else:
            converted["anyOf"] = rest
        converted["nullable"] = True
    if isinstance(converted.get("examples"), list) and "type" in converted:
        converted["example"] = converted.pop("examples")[0] if converted["examples"] else None
    return converted


def install_openapi_30(app) -> None:
    """Makes `app.openapi()` (and /openapi.json) answer the 3.0 dialect, computed once."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is None:
            document = as_openapi_30(generate())
            document["openapi"] = "3.0.3"
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
