"""The HTTP API: a FastAPI app factory (``app.create_app``), dependencies (``deps``) and one thin
route module per resource (``routes/``); the work is done by the service functions they call."""
