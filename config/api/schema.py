"""OpenAPI tweaks: document routes the way clients call them (no trailing slash), with distinct operation ids."""

import drf_spectacular.openapi


def strip_trailing_slashes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: ``/v1/users/list/`` → ``/v1/users/list`` (both are served)."""
    return [
        (path.rstrip("/") if path != "/" else path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """drf-spectacular's schema, with operation ids that tell ``…/metadata`` from ``…/metadata/{filename}``:
    path variables after the last fixed part of a path join the id (``datasets_metadata_by_filename_retrieve``);
    drf-spectacular drops them all, and numbers the collisions instead."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        suffix = [name for name in self._trailing_variables() if name not in ("id", "pk")]
        if not suffix:
            return operation_id
        action = operation_id.rsplit("_", 1)[-1]
        return f"{operation_id[: -len(action) - 1]}_by_{'_'.join(suffix)}_{action}"

    def _trailing_variables(self) -> list[str]:
        parts = self.path.rstrip("/").split("/")
        names: list[str] = []
        while parts and parts[-1].startswith("{"):
            names.insert(0, parts.pop().strip("{}"))
        return names
