"""One module per part of the console, as in ``gateway.api.routes``; each exposes ``router``."""
