"""Planner statistics of the template tables, refreshed after a bulk import (``import_templates``, bundles)."""

from __future__ import annotations

from django.db.models import CASCADE, Model

from config.db_maintenance import tables_analyse
from jobtemplates.models import JobTemplate


def template_content_models() -> list[type[Model]]:
    """``JobTemplate`` and the models holding a template's content: those deleted with it (parameters,
    nodes, edges, and whatever is later kept per template), not those that protect it (jobs)."""
    related: set[type[Model]] = set()
    for relation in JobTemplate._meta.related_objects:
        model = relation.related_model
        if relation.on_delete is CASCADE and isinstance(model, type):  # (a class once the apps are loaded)
            related.add(model)
    return [JobTemplate, *sorted(related, key=lambda model: model._meta.label)]


def template_tables_analyse() -> list[str]:
    """``ANALYZE`` the template tables, so lists and matching are planned from their real size; the tables."""
    return tables_analyse(models=template_content_models())
