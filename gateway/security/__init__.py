"""Keys and cryptography: field encryption and blind indexes (``fieldcrypt``), the local key store
(``keystore``), CMS file envelopes and our envelope identities (``envelope``), and
``csgate keys`` (``cli``) (design.md §5)."""
