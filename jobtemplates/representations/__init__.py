"""Answers written from a template's kept bytes (``jobtemplates.services.templates.representing`` makes
and keeps them): a template, chunks of a list, get-all-parameters with the caller's visible values; and
the receivers that drop kept rows when a domain or licence they read changes (``invalidation``).
"""

from jobtemplates.representations.answers import (
    chunk_rows,
    kept_part,
    listed_rows,
    parameters_answer,
    template_answer,
    template_chunks,
    template_item,
)
from jobtemplates.services.templates.representing import (
    fingerprint,
    kept_of,
    kept_rows,
    parameters_representation,
    representations_drop,
    representations_ensure,
    representations_keep,
    template_representation,
)

__all__ = [
    "chunk_rows",
    "fingerprint",
    "kept_of",
    "kept_part",
    "kept_rows",
    "listed_rows",
    "parameters_answer",
    "parameters_representation",
    "representations_drop",
    "representations_ensure",
    "representations_keep",
    "template_answer",
    "template_chunks",
    "template_item",
    "template_representation",
]
