"""Shared test configuration. Fixtures come from the ``rum.testing`` and ``rum_orm.testing``
pytest plugins (installed with the distribution), so users' projects get the same ones."""
