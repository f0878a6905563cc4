"""The domain: models, database services split by resource, encryption and errors.

Shared by the platform (API and git receiver), the builder and the runner; it touches only the
database, never Docker, Caddy or the registry.
"""
