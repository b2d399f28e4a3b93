"""``csgate serve``: the API (uvicorn) and the scheduler (leader election, cron, workers) in one
process. Several may run against one PostgreSQL database; with SQLite, one per data directory.

Partners are read from the database (``csgate partners load``) when the process starts; reload
the partners file, then restart the instances to apply it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)")] = 8080,
    api: Annotated[bool, typer.Option("--api/--no-api", help="Serve the HTTP API")] = True,
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler", help="Run schedules and workers")] = True,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker threads taking queued runs")] = 1,
    leader_interval: Annotated[float, typer.Option(help="Seconds between leadership checks")] = 1.0,
    housekeeping: Annotated[float, typer.Option(help="Seconds between overdue checks and checkpoints")] = 30.0,
) -> None:
    """Run the gateway: HTTP API and scheduler (see `csgate serve --help`)."""
    import logging

    import uvicorn

    import adapters
    from gateway.api.app import create_app
    from gateway.audit.signing import CheckpointSigner
    from gateway.config import get_settings
    from gateway.errors import GatewayError
    from gateway.exchanges.partners import load_profiles
    from gateway.exchanges.runtime import Runtime
    from gateway.exchanges.scheduler import Scheduler
    from gateway.observability import configure_logging

    log = logging.getLogger(__name__)
    settings = get_settings()
    configure_logging(settings.log_level)
    adapters.available()  # load every format plugin now: a broken one fails the start, not a file
    try:
        runtime = Runtime.from_settings(settings, actor="serve")
        signer = CheckpointSigner.load(settings.key_dir, create=True)
    except GatewayError as exc:  # no key store yet: say what to run, no traceback
        log.error("cannot start", extra={"reason": exc.message})
        raise typer.Exit(78) from None
    worker: Scheduler | None = None
    if scheduler:
        profiles = load_profiles(runtime.engine, key_dir=settings.key_dir)
        worker = Scheduler(
            runtime,
            profiles,
            signer=signer,
            workers=workers,
            leader_interval=leader_interval,
            housekeeping_interval=housekeeping,
        )
        worker.start()
    try:
        if api:
            app = create_app(settings, runtime=runtime, signer=signer)
            uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)).run()
        else:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    finally:
        if worker is not None:
            worker.stop()
        log.info("stopped")


@contextmanager
def running(app: Any, host: str = "127.0.0.1", *, start_seconds: float = 20) -> Iterator[str]:
    """``app`` (an ASGI app) served by uvicorn in a background thread on a free port of ``host``,
    for as long as the block runs; yields its base URL. For the demo and the tests, which talk to a
    real server while they go on: ``serve`` runs its server in the foreground."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(start_seconds)
