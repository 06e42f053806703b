"""Serializer fields shared by the apps' input serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.text_limits import text_max_chars, text_too_long_message


class FreeTextField(serializers.CharField):
    """Free text (a description, help, tags…): at most ``TEXT_FIELD_MAX_CHARS`` characters (code ``too_long``).

    The cap is read when a value is checked, not when the serializer class is defined; ``max_length``
    is set too so the OpenAPI schema states it.
    """

    default_error_messages = {"too_long": "{message}"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)
        self.max_length = text_max_chars()

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if len(value) > text_max_chars():
            self.fail("too_long", message=text_too_long_message(len(value)))
        return value
