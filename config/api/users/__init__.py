"""``/v1/users``: accounts (Django's auth users), never serialising password hashes."""
