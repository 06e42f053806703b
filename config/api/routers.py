"""A router whose routes answer with and without a trailing slash (the UFDL client sends none)."""

from rest_framework.routers import SimpleRouter

OPTIONAL_SLASH = "/?"


class OptionalSlashRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=True)
        self.trailing_slash = OPTIONAL_SLASH
