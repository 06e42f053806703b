"""Representations of teams, memberships, projects and datasets (UFDL's shapes), and the input
serializers of their writes.

Output serializers read only what the selectors loaded (no queries of their own). Input serializers name
related rows by pk (a licence also by name); an unknown row is a ``does_not_exist`` problem, answered
with a 422. Keys of a representation that a write does not take are ignored, so a retrieved object can
be sent back as it is.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import PrimaryKeyRelatedField

from config.api.fields import FreeTextField
from contracts.api.serializers import LookupRelatedField
from contracts.models import Domain, Licence
from workspaces.models import Dataset, Membership, Permission, Project, Team
from workspaces.services.teams import MembershipMethod

NAME_MAX_LENGTH = 200
MEMBER_SCHEMA = {
    "type": "object",
    "properties": {
        "pk": {"type": "integer"},
        "username": {"type": "string"},
        "permissions": {"type": "string", "enum": list(Permission.values), "description": "ours"},
    },
}


class NameField(serializers.CharField):
    """A name: 1–200 characters, no surrounding spaces, no control characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=NAME_MAX_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.strip() or value != value.strip():
            raise serializers.ValidationError("a name is non-empty, without surrounding spaces")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise serializers.ValidationError("a name may not contain control characters")
        return value


# --- teams, memberships, projects -------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    """A team: ``members`` are its active members (``pk``, ``username`` and, ours, their ``permissions``)."""

    members = serializers.SerializerMethodField()
    creator: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Team
        fields = ["pk", "name", "members", "creator", "creation_time", "deletion_time"]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": MEMBER_SCHEMA})
    def get_members(self, team: Team) -> list[dict[str, Any]]:
        # ``active_memberships`` is loaded by the team selectors (one query for every team listed).
        return [
            {"pk": membership.user_id, "username": membership.user.username, "permissions": membership.permissions}
            for membership in getattr(team, "active_memberships", [])  # (see above)
        ]


class TeamWriteSerializer(serializers.Serializer):
    name = NameField()


class MembershipSerializer(serializers.ModelSerializer):
    """A membership, as UFDL answers a change of one (a removed membership carries its deletion time)."""

    user: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True)
    team: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True)
    creator: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = ["user", "team", "permissions", "creator", "creation_time", "deletion_time"]
        read_only_fields = fields


class MembershipChangeSerializer(serializers.Serializer):
    """UFDL's ``MembershipModSpec``: ``{"method": "add"|"remove"|"update", "username", "permissions"?}``."""

    method = serializers.ChoiceField(MembershipMethod.ALL)
    username = serializers.CharField(max_length=150)
    permissions = serializers.ChoiceField(Permission.values, required=False, default=Permission.READ)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields), key=str)
            if unknown:  # UFDL's spec is strict: a misspelt key must not pass silently
                raise serializers.ValidationError({str(key): ["unknown key"] for key in unknown})
        return super().to_internal_value(data)


class ProjectSerializer(serializers.ModelSerializer):
    team: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True)
    creator: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Project
        fields = ["pk", "name", "team", "creator", "creation_time", "deletion_time"]
        read_only_fields = fields


class ProjectWriteSerializer(serializers.Serializer):
    name = NameField()
    team = LookupRelatedField(queryset=Team.objects.filter(deletion_time__isnull=True), lookup_fields=("name",))


# --- datasets ----------------------------------------------------------------------------------------


class DatasetSerializer(serializers.ModelSerializer):
    """A dataset as UFDL shows it: ``project``, ``licence`` and ``creator`` as pks, ``domain`` the domain's
    description (null for a core dataset), ``files`` a map of file name → content handle."""

    project: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True, allow_null=True)
    licence: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True)
    domain: serializers.SlugRelatedField[Domain] = serializers.SlugRelatedField(
        "description", read_only=True, allow_null=True
    )
    creator: PrimaryKeyRelatedField[Any] = PrimaryKeyRelatedField(read_only=True, allow_null=True)
    files = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "pk",
            "name",
            "version",
            "previous_version",
            "description",
            "project",
            "licence",
            "is_public",
            "domain",
            "tags",
            "creator",
            "creation_time",
            "deletion_time",
            "files",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_files(self, dataset: Dataset) -> dict[str, str]:
        return {datafile.filename: datafile.handle for datafile in dataset.files.all()}


class CategoriesDatasetSerializer(DatasetSerializer):
    """An image- or spectrum-classification dataset, with its ``categories`` (file → labels)."""

    categories = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "categories"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}})
    def get_categories(self, dataset: Dataset) -> dict[str, list[str]]:
        return {
            datafile.filename: [category.label for category in datafile.categories.all()]
            for datafile in dataset.files.all()
            if datafile.categories.all()
        }


class SpeechDatasetSerializer(DatasetSerializer):
    """A speech dataset, with its ``transcriptions`` (file → ``{"transcription"}``)."""

    transcriptions = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "transcriptions"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"transcription": {"type": "string"}}},
        }
    )
    def get_transcriptions(self, dataset: Dataset) -> dict[str, dict[str, str]]:
        transcriptions = {}
        for datafile in dataset.files.all():
            transcription = getattr(datafile, "transcription", None)
            if transcription is not None:
                transcriptions[datafile.filename] = {"transcription": transcription.text}
        return transcriptions


class DatasetWriteSerializer(serializers.Serializer):
    """The body of a dataset create or update: ``name, project, licence, description, is_public, tags`` as
    UFDL's client sends them; ours, also ``version`` (none: the next one) and, on ``/v1/datasets``,
    ``domain`` (the domain routes set their own)."""

    name = NameField()
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    description = FreeTextField(required=False, default="")
    licence = LookupRelatedField(queryset=Licence.objects.all())
    # Absent: a create makes a personal dataset, an update (PUT too) leaves the project as it is.
    project = LookupRelatedField(queryset=Project.objects.all(), lookup_fields=(), allow_null=True, required=False)
    is_public = serializers.BooleanField(required=False, default=False)
    tags = FreeTextField(required=False, default="")
    domain = LookupRelatedField(
        queryset=Domain.objects.all(), lookup_fields=("name", "description"), allow_null=True, required=False
    )


class FileRecordSerializer(serializers.Serializer):
    """What adding or removing a file answers: UFDL's ``{filename, handle}`` (ours: ``size``)."""

    filename = serializers.CharField()
    handle = serializers.CharField()
    size = serializers.IntegerField()


class MetadataSerializer(serializers.Serializer):
    """UFDL's ``FileMetadata``: ``{"metadata": "<text>"}``."""

    metadata = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=64 * 1024)


class CopySerializer(serializers.Serializer):
    """``{new_name?, only_files?}`` as UFDL takes them; ours, ``project`` (another project to copy into)."""

    new_name = NameField(required=False)
    only_files = serializers.ListField(child=serializers.CharField(max_length=500), required=False, max_length=100_000)
    project = LookupRelatedField(queryset=Project.objects.all(), lookup_fields=(), allow_null=True, required=False)


class MergeSerializer(serializers.Serializer):
    """UFDL's ``MergeSpec``: ``{"delete": bool, "hard"?: bool}``."""

    delete = serializers.BooleanField()
    hard = serializers.BooleanField(required=False, default=False)


class CategoriesChangeSerializer(serializers.Serializer):
    """UFDL's ``CategoriesModSpec``: ``{"method": "add"|"remove", "images": [...], "categories": [...]}``."""

    method = serializers.ChoiceField(["add", "remove"])
    images = serializers.ListField(child=serializers.CharField(max_length=500), min_length=1, max_length=100_000)
    categories = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problems = {}
        for key in ("images", "categories"):
            if len(set(attrs[key])) != len(attrs[key]):
                problems[key] = ["the items must be unique"]
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class TranscriptionSerializer(serializers.Serializer):
    """UFDL's ``Transcription``: ``{"transcription": "<text>"}``."""

    transcription = FreeTextField(trim_whitespace=False, required=False, default="")
