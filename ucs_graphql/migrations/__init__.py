"""Alembic migrations (both dialects); run by `ucs-graphql migrate` and at server start."""
