"""The local end-to-end demo (`make demo`) and its reusable parts (OpenBao dev server, issuer)."""
