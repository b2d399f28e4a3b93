"""Labor-department formats: what a state workforce agency sends to the National Directory of New Hires.

``ndnh_qw`` (quarterly wage) and ``ndnh_ui`` (unemployment insurance), each in ASCII and EBCDIC, share
the transmission machinery of ``ndnh`` and the file-structure descriptor of ``ndnh_spec``.
"""
