"""csgate gateway: everything with side effects (storage, keys, transports, exchanges, API, CLI).

Adapters (``adapters/``) stay pure translation; this package moves bytes, stores records and keeps
the audit trail (design.md §1 and §5).
"""
