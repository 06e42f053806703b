"""Filter-spec allow-lists of templates, jobs and job outputs (serialised fields and documented relations)."""

from config.api.filterspec import FilterFields
from jobtemplates.models import JobTemplate

TEMPLATE_FILTER_FIELDS = FilterFields(
    JobTemplate,
    [
        "pk",
        "name",
        "version",
        "description",
        "scope",
        "kind",
        "creation_time",
        "deletion_time",
        "executor_class",
        "required_packages",
        "contract_name",
        "domain.name",
        "domain.description",
        "licence.name",
        "creator.username",
        "project.name",
    ],
    aliases={
        "type": "contract",
        "domain": "domain__name",
        "licence": "licence__pk",
        "creator": "creator__pk",
        "project": "project__name",
    },
)
