"""Liveness, readiness and metrics: unauthenticated, for the orchestrator and Prometheus.
Nothing here names a record or a person."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.api.deps import RuntimeDep
from gateway.db import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Ready to work: the database answers and is at the newest migration, the keys are readable."""
    checks: dict[str, str] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            from alembic.runtime.migration import MigrationContext

            revision = MigrationContext.configure(conn).get_current_revision()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if revision == migrate.head() else f"at {revision}, need {migrate.head()}"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    checks["keys"] = "ok" if rt.key_dir.is_dir() else "missing"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition: this process's counters and the cluster-wide database gauges."""
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
