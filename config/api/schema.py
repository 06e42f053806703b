"""OpenAPI tweaks: document routes the way clients call them (no trailing slash)."""


def strip_trailing_slashes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: ``/v1/users/list/`` → ``/v1/users/list`` (both are served)."""
    return [
        (path.rstrip("/") if path != "/" else path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]
