"""Formats that belong to no agency: the gateway's own receipt."""
