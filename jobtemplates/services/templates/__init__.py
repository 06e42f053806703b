"""Template services: import (and validate), export, soft delete, reinstate, hard delete."""

from jobtemplates.services.templates.exporting import template_export
from jobtemplates.services.templates.importing import ImportResult, template_import, template_validate
from jobtemplates.services.templates.lifecycle import template_hard_delete, template_reinstate, template_soft_delete

__all__ = [
    "ImportResult",
    "template_export",
    "template_hard_delete",
    "template_import",
    "template_reinstate",
    "template_soft_delete",
    "template_validate",
]
