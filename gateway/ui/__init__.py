"""The web interface for people who do not use the CLI, served by the gateway under /ui.

`router` holds every route of the interface, its static files included (/ui/static/...), so
`app.include_router(gateway.ui.router)` is all a gateway needs. Imports no TensorFlow.
"""

from gateway.ui.pages import PAGES, STATIC_DIR, router

__all__ = ["PAGES", "STATIC_DIR", "router"]
