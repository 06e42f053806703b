"""Template export: the import format, so that ``import(export(t))`` gives ``t`` back."""

from __future__ import annotations

from typing import Any

from jobtemplates.models import JobTemplate
from jobtemplates.services.templates.drafts import draft_from_template


def template_export(*, template: JobTemplate) -> dict[str, Any]:
    """The import body of ``template``: licence by name, defaults filled in, keys without a value left out."""
    return draft_from_template(template).export()
