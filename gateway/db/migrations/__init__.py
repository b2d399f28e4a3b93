"""Alembic environment, a package so that it ships in wheels and resolves from editable installs."""
