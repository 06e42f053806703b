"""Representations of the catalogue (UFDL shapes), and the input serializers of their writes.

Output serializers read only what the selectors joined (no queries of their own). Input serializers
name related rows by pk or by a natural key (a licence by name, a domain by its 2-letter name, a
framework by ``{"name", "version"}`` or ``"name|version"``); an unknown row is a ``does_not_exist``
problem, which the views answer with a 422. A docker image's registry password is write-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import (
    CUDAVersion,
    DockerImage,
    Domain,
    Framework,
    Hardware,
    JobContract,
    Licence,
    PretrainedModel,
)
from contracts.models.catalogue import LICENCE_CONDITIONS, LICENCE_DOMAINS, LICENCE_LIMITATIONS, LICENCE_PERMISSIONS

PK_MAX = 2**63 - 1


@extend_schema_field({"oneOf": [{"type": "integer", "description": "pk"}, {"type": "string", "description": "name"}]})
class LookupRelatedField(serializers.RelatedField):
    """A related row written as its pk (an integer) or one of its natural keys (a string); read as
    ``read_as`` (an attribute of the row)."""

    default_error_messages = {
        "does_not_exist": "No {model} {value!r}.",
        "incorrect_type": "Expected {expected}, got {data_type}.",
    }

    def __init__(self, *, lookup_fields: Sequence[str] = ("name",), read_as: str = "pk", **kwargs: Any) -> None:
        self.lookup_fields = tuple(lookup_fields)
        self.read_as = read_as
        super().__init__(**kwargs)

    @property
    def expected(self) -> str:
        if not self.lookup_fields:
            return "a pk (integer)"
        return f"a pk (integer) or a {' or '.join(self.lookup_fields)} (string)"

    def rows(self) -> QuerySet:
        """The rows a value may name (the field's ``queryset``, which every use of it gives)."""
        queryset = self.get_queryset()
        if queryset is None:
            raise TypeError(f"{type(self).__name__} needs a queryset")
        return queryset

    def lookup(self, data: Any) -> Any:
        """The row ``data`` names, or ``None``; raise ``incorrect_type`` for values of the wrong shape."""
        queryset = self.rows()
        if isinstance(data, int) and not isinstance(data, bool):
            return queryset.filter(pk=data).first() if 0 < data <= PK_MAX else None
        if isinstance(data, str) and data.strip():
            for field in self.lookup_fields:
                match = queryset.filter(**{field: data}).first()
                if match is not None:
                    return match
            return None
        self.fail("incorrect_type", expected=self.expected, data_type=type(data).__name__)
        return None

    def to_internal_value(self, data: Any) -> Any:
        match = self.lookup(data)
        if match is None:
            self.fail("does_not_exist", model=self.rows().model._meta.verbose_name, value=data)
        return match

    def to_representation(self, value: Any) -> Any:
        return getattr(value, self.read_as)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "pk"},
            {"type": "string", "description": "name|version"},
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                "required": ["name", "version"],
            },
        ]
    }
)
class FrameworkLookupField(LookupRelatedField):
    """A framework by pk, ``{"name": …, "version": …}`` or ``"name|version"`` (UFDL's fixture form)."""

    @property
    def expected(self) -> str:
        return "a pk, an object {name, version} or a string 'name|version'"

    def lookup(self, data: Any) -> Any:
        if isinstance(data, dict):
            name, version = data.get("name"), data.get("version")
            if set(data) - {"pk"} != {"name", "version"} or not isinstance(name, str) or not isinstance(version, str):
                self.fail("incorrect_type", expected=self.expected, data_type="object of another shape")
            return self.rows().filter(name=name, version=version).first()
        if isinstance(data, str):
            name, sep, version = data.partition("|")
            if not sep:
                self.fail("incorrect_type", expected=self.expected, data_type="string without '|'")
            return self.rows().filter(name=name, version=version).first()
        return super().lookup(data)


# --- catalogue ---------------------------------------------------------------------------------------


class DomainSerializer(serializers.ModelSerializer):
    # Declared explicitly: uniqueness is checked by the view (a clash is a 409, not a 400).
    name = serializers.RegexField(r"^[a-z]{2}$", max_length=2, help_text="two lower-case letters, e.g. ic")
    description = serializers.CharField(max_length=64)

    class Meta:
        model = Domain
        fields = ["pk", "name", "description"]


class LicenceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(allow_blank=True, required=False)
    domains = serializers.ListField(child=serializers.ChoiceField(LICENCE_DOMAINS), required=False)
    permissions = serializers.ListField(child=serializers.ChoiceField(LICENCE_PERMISSIONS), required=False)
    limitations = serializers.ListField(child=serializers.ChoiceField(LICENCE_LIMITATIONS), required=False)
    conditions = serializers.ListField(child=serializers.ChoiceField(LICENCE_CONDITIONS), required=False)

    class Meta:
        model = Licence
        fields = ["pk", "name", "url", "domains", "permissions", "limitations", "conditions"]


class FrameworkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Framework
        fields = ["pk", "name", "version"]
        validators: list = []  # (name, version) clashes are a 409 from the view


class HardwareSerializer(serializers.ModelSerializer):
    generation = serializers.CharField(max_length=32)

    class Meta:
        model = Hardware
        fields = ["pk", "generation", "min_compute_capability", "max_compute_capability"]

    def validate(self, attrs: dict) -> dict:
        low = attrs.get("min_compute_capability", getattr(self.instance, "min_compute_capability", None))
        high = attrs.get("max_compute_capability", getattr(self.instance, "max_compute_capability", None))
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_compute_capability": ["must not be below the minimum"]})
        return attrs


class CUDAVersionSerializer(serializers.ModelSerializer):
    version = serializers.CharField(max_length=16)
    full_version = serializers.CharField(max_length=16)

    class Meta:
        model = CUDAVersion
        fields = ["pk", "version", "full_version", "min_driver_version"]


class DockerImageSerializer(serializers.ModelSerializer):
    """A docker image as UFDL's ``DockerImage`` type shows it; the registry password is never included."""

    cuda_version = CUDAVersionSerializer(read_only=True)
    framework = FrameworkSerializer(read_only=True)
    domain: serializers.SlugRelatedField[Domain] = serializers.SlugRelatedField("description", read_only=True)
    tasks: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField("name", many=True, read_only=True)
    min_hardware_generation = HardwareSerializer(read_only=True, allow_null=True)
    licence: serializers.SlugRelatedField[Licence] = serializers.SlugRelatedField("name", read_only=True)

    class Meta:
        model = DockerImage
        fields = [
            "pk",
            "name",
            "version",
            "url",
            "registry_url",
            "registry_username",
            "cuda_version",
            "framework",
            "domain",
            "tasks",
            "min_hardware_generation",
            "cpu",
            "licence",
        ]
        read_only_fields = fields


class DockerImageWriteSerializer(serializers.ModelSerializer):
    """Admin writes of a docker image; ``registry_password`` is accepted but never shown."""

    registry_password = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        style={"input_type": "password"},
    )
    cuda_version = LookupRelatedField(queryset=CUDAVersion.objects.all(), lookup_fields=("version", "full_version"))
    framework = FrameworkLookupField(queryset=Framework.objects.all())
    domain = LookupRelatedField(queryset=Domain.objects.all(), lookup_fields=("name", "description"))
    tasks = LookupRelatedField(queryset=JobContract.objects.all(), many=True, required=False)
    min_hardware_generation = LookupRelatedField(
        queryset=Hardware.objects.all(), lookup_fields=("generation",), allow_null=True, required=False
    )
    licence = LookupRelatedField(queryset=Licence.objects.all())

    class Meta:
        model = DockerImage
        fields = [
            "name",
            "version",
            "url",
            "registry_url",
            "registry_username",
            "registry_password",
            "cuda_version",
            "framework",
            "domain",
            "tasks",
            "min_hardware_generation",
            "cpu",
            "licence",
        ]
        validators: list = []  # (name, version) clashes are a 409 from the view


class PretrainedModelSerializer(serializers.ModelSerializer):
    framework = FrameworkSerializer(read_only=True)
    domain: serializers.SlugRelatedField[Domain] = serializers.SlugRelatedField("name", read_only=True)
    licence: serializers.SlugRelatedField[Licence] = serializers.SlugRelatedField("name", read_only=True)

    class Meta:
        model = PretrainedModel
        fields = ["pk", "name", "description", "url", "source", "framework", "domain", "licence", "metadata"]
        read_only_fields = fields


class PretrainedModelWriteSerializer(serializers.ModelSerializer):
    framework = FrameworkLookupField(queryset=Framework.objects.all())
    domain = LookupRelatedField(queryset=Domain.objects.all(), lookup_fields=("name", "description"))
    licence = LookupRelatedField(queryset=Licence.objects.all())
    metadata = serializers.DictField(required=False)

    class Meta:
        model = PretrainedModel
        fields = ["name", "description", "url", "source", "framework", "domain", "licence", "metadata"]
        validators: list = []  # (name, framework) clashes are a 409 from the view
