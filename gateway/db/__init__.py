"""Storage: SQLAlchemy 2 models (``models``), engines and sessions (``session``), and the Alembic
migrations run programmatically (``migrate``), one schema for SQLite and PostgreSQL alike."""
