"""The ``[accounts]`` settings."""

from __future__ import annotations

from rum.config import Setting

SCHEMA: dict[str, Setting] = {
    "hash_profile": Setting(None, str, "Argon2id parameters: \"rfc9106_low_memory\" (default) "
                                       "or \"test\" (cheap; the default in the test "
                                       "environment)", ("rfc9106_low_memory", "test")),
    "time_cost": Setting(None, int, "Argon2 passes (overrides the profile's)"),
    "memory_cost": Setting(None, int, "Argon2 memory in KiB (overrides the profile's)"),
    "parallelism": Setting(None, int, "Argon2 lanes (overrides the profile's)"),
    "hash_threads": Setting(2, int, "password hashes computed at once (worker threads)"),
    "max_password_bytes": Setting(1024, int, "longest password accepted, in UTF-8 bytes"),
    "max_failures_per_account": Setting(5, int, "failed log-ins per account per window"),
    "max_failures_per_client": Setting(20, int, "failed log-ins per client address per window"),
    "throttle_window": Setting(900.0, float, "the log-in throttling window, in seconds"),
    "throttle_store": Setting("memory", str, "where failed log-ins are counted: \"memory\" "
                                             "(this process) or \"database\" (PostgreSQL, "
                                             "shared by every process; needs the orm plugin)",
                              ("memory", "database")),
}
