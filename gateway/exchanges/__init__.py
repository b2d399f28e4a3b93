"""Exchanges: exactly-once intake, quarantine, outbound sends and acknowledgments, retries and dead
letters, the work queue and the scheduler (design.md §5). Everything here has side effects;
adapters stay pure translation."""
