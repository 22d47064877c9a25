"""The production profile: PostgreSQL, Redis and replicas behind nginx (see deploy/README.md)."""
