"""Migration scripts, numbered ``NNNN_slug.py``; Alembic skips this file."""
