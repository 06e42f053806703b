"""Shared API machinery used by every resource: routing, filter specs, lists, soft delete, errors."""
