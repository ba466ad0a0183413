"""Rum accounts: Argon2id password hashing, signed time-limited tokens, log-in throttling."""
