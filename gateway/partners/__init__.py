"""Partner registry: who we exchange files with, in which formats, over which transport, on which
schedule, with which keys (design.md §5).

- ``schema``: the partners TOML file as pydantic models (``PartnerConfig`` and its parts);
- ``schedule``: crontab lines as APScheduler triggers, business-day deadlines;
- ``registry``: read and check the file, mirror it into the ``partners`` table, read it back;
- ``cli``: ``csgate partners check|list|load``.

Nothing is re-exported here, so ``csgate`` starts without loading the database layer.
"""
