"""`create_app(settings)`: the gateway's FastAPI application (the composition root).

Routers: proxy (TF Serving's REST paths), classify, feedback (true labels of logged calls), catalog (versions,
lineage), labels, account (whoami, keys, usage, audit, monitoring report), authz (gRPC key checks), docs (offline
Swagger UI); the web interface (`gateway.ui`) when that package is present. Every error answers
`{"error": "..."}` with its status. Inference POSTs take `gateway.fast_path` (the proxy's steps without FastAPI's
routing), inside the body limit and the security headers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import account, authz, catalog, classify, docs, feedback, labels, openapi_examples, proxy
from gateway.classify import VersionResolver
from gateway.errors import GatewayError
from gateway.fast_path import InferenceFastPath
from gateway.languages import LanguageGuesser
from gateway.middleware import BodyLimit, SecurityHeaders
from gateway.service import Gateway
from gateway.settings import GatewaySettings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _error(status: int, message: str, headers=None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, error: GatewayError):
        return _error(error.http_status, error.message, error.headers())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError):
        return _error(400, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        message = "no such endpoint (see /docs)" if error.status_code == 404 else str(error.detail)
        return _error(error.status_code, message, getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(error).__name__}); see the gateway log")


async def _learn_languages(app: FastAPI) -> None:
    """Points language detection at the languages the stable version was evaluated on, when they are known."""
    if not app.state.gateway.settings.model_config_file:
        return
    try:
        rows = (await catalog.list_versions(app.state.gateway))["versions"]
    except GatewayError as error:
        log.warning("languages of the served model unknown: %s", error.message)
        return
    stable = [row for row in rows if "stable" in row["labels"]] or rows[-1:]
    if stable:
        app.state.languages.use(stable[0]["languages"])


def create_app(settings: GatewaySettings, gateway: Gateway = None) -> FastAPI:
    """The gateway application for `settings` (uvicorn serves it; tests call it in-process)."""
    parts = gateway or Gateway(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await parts.start()
        await _learn_languages(app)
        try:
            yield
        finally:
            await parts.stop()

    app = FastAPI(title="nlp2prod API", version="1", description=openapi_examples.API_DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.gateway = parts
    app.state.versions = VersionResolver(parts.backend)
    app.state.languages = LanguageGuesser()
    _install_error_handlers(app)
    for router in (classify.router, feedback.router, catalog.router, labels.router, account.router, authz.router,
                   docs.router):
        app.include_router(router)
    app.include_router(proxy.router)
    app.mount("/docs/assets", docs.assets(), name="docs-assets")
    docs.install_openapi_30(app)

    @app.get("/v1/health", tags=["Health"], summary="The gateway is up (no key needed)")
    async def health():
        return {"status": "ok"}

    if importlib.util.find_spec("gateway.ui") is not None:
        from gateway import ui

        app.include_router(ui.router)
    app.add_middleware(InferenceFastPath, gateway=parts, versions=app.state.versions)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
