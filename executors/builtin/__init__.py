"""Executors shipped with the service (the default allowed module prefix for workers)."""
