"""Filter-spec allow-lists of teams, projects and datasets (http-api.md §2).

Each list holds the serialised fields plus the documented relations. A dataset's ``domain`` is the
domain's description (as serialised; ``domain.name`` is the 2-letter name), ``files`` a file's name.
Nothing on ``creator`` but its pk and username is filterable.
"""

from __future__ import annotations

from config.api.filterspec import FilterFields
from workspaces.models import Dataset, Project, Team

TEAM_FILTER_FIELDS = FilterFields(
    Team, ["pk", "name", "creator", "creator.pk", "creator.username", "creation_time", "deletion_time"]
)

PROJECT_FILTER_FIELDS = FilterFields(
    Project,
    [
        "pk",
        "name",
        "team",
        "team.pk",
        "team.name",
        "creator",
        "creator.pk",
        "creator.username",
        "creation_time",
        "deletion_time",
    ],
)

DATASET_FILTER_FIELDS = FilterFields(
    Dataset,
    [
        "pk",
        "name",
        "version",
        "previous_version",
        "description",
        "licence",
        "licence.pk",
        "licence.name",
        "domain.pk",
        "domain.name",
        "domain.description",
        "project",
        "project.pk",
        "project.name",
        "project.team",
        "project.team.pk",
        "project.team.name",
        "is_public",
        "tags",
        "creator",
        "creator.pk",
        "creator.username",
        "creation_time",
        "deletion_time",
    ],
    aliases={"domain": "domain__description", "files": "files__filename"},
)
