"""The web console: server-rendered pages for operators, auditors, admins and caseworkers over the
same service functions, rights and audit as the API (``create_console``, mounted at ``/console``)."""

from gateway.console.app import create_console

__all__ = ["create_console"]
