"""Checking an import body (http-api.md §3.3) into a ``TemplateDraft``, collecting every problem.

Every problem carries its path into the body (``specific.parameters.epochs.default``,
``specific.dependencies[0].to_input``); warnings (an executor class not installed here, a default
naming a row that does not exist yet) do not block the import and are returned with it. Every
``Domain<'…'>`` a type names must be a catalogue domain (looked up once, at the end).
"""

from jobtemplates.services.templates.checking.base import (
    DOTTED_PATH,
    EDGE_KEYS,
    LOCAL_NAME,
    MAX_NAME_LENGTH,
    META_KEYS,
    NODE_KEYS,
    OVERRIDE_KEYS,
    PARAMETER_KEYS,
    TOP_KEYS,
    URL_REQUIREMENT,
    WORKABLE_KEYS,
)
from jobtemplates.services.templates.checking.checker import TemplateChecker
from jobtemplates.services.templates.checking.meta import child_signature, derived_parameters

__all__ = [
    "DOTTED_PATH",
    "EDGE_KEYS",
    "LOCAL_NAME",
    "MAX_NAME_LENGTH",
    "META_KEYS",
    "NODE_KEYS",
    "OVERRIDE_KEYS",
    "PARAMETER_KEYS",
    "TOP_KEYS",
    "URL_REQUIREMENT",
    "WORKABLE_KEYS",
    "TemplateChecker",
    "child_signature",
    "derived_parameters",
]
