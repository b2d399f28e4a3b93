"""Cases: the registry of the state's cases and participants (``registry``), the feed that matches
what partners report to them (``feed``), and the guarded disclosure of what was found
(``disclosure``)."""
