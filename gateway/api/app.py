"""``create_app()``: the gateway's HTTP API (design.md §7, full-stack-fastapi-template style).

State on ``app.state``: ``settings``, ``runtime`` (engine, keys, data directory), ``signer`` (the
audit checkpoint key, when this instance has it) and ``metrics_registry`` (this process's counters
plus the database gauges). Tests pass their own runtime; ``csgate serve`` builds one from settings.
The web console (``gateway.console``) is mounted under ``/console`` on the same state.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from gateway.api.routes import audit, cases, exchanges, health, quarantine
from gateway.audit.signing import CheckpointSigner
from gateway.config import Settings, get_settings
from gateway.console import create_console
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime
from gateway.observability import METRICS, DatabaseCollector


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, signer: CheckpointSigner | None = None
) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or Runtime.from_settings(settings, actor="api")
    app = FastAPI(title="csgate", summary="Child support (IV-D) data exchange gateway", version="0.1.0")
    registry = CollectorRegistry(auto_describe=True)
    for collector in METRICS.collectors():
        registry.register(collector)
    registry.register(DatabaseCollector(runtime.engine))
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.signer = signer
    app.state.metrics_registry = registry
    for module in (health, exchanges, quarantine, audit, cases):
        app.include_router(module.router)
    app.add_exception_handler(AccessDenied, _forbidden)
    app.mount("/console", create_console(settings, runtime=runtime, signer=signer))
    return app


async def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    """``AccessDenied`` (already audited where it was raised) is a 403 with its message."""
    return JSONResponse({"detail": getattr(exc, "message", "forbidden")}, status_code=403)
