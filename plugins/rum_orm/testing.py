"""PostgreSQL fixtures for tests (in progress)."""
