"""Keys and cryptography: field encryption and blind indexes (``fieldcrypt``), the local key store
(``keystore``); envelope signing/encryption will live here too (design.md §5)."""
