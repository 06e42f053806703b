"""Job templates: one table for both kinds, with parameters, meta-template nodes and edges.

Both kinds live in ``JobTemplate`` (``kind`` tells them apart) so that a list of templates is one
query with its joins, not a union over tables; ``WorkableTemplate`` and ``MetaTemplate`` are proxies
for the admin. What matching, listing and create-job need from the type language (the canonical
contract, its name, its inputs and outputs, get-types) is computed once at import and stored here.
Templates are never edited in place: a new version is imported instead, so what a job ran with is
reproducible from the job alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.softdelete import SoftDeleteModel, SoftDeleteQuerySet


class TemplateKind(models.TextChoices):
    WORKABLE = "workable", "workable"
    META = "meta", "meta"


class TemplateScope(models.TextChoices):
    PUBLIC = "public", "public: every authenticated user"
    USER = "user", "user: the creator and admins"
    PROJECT = "project", "project: members of the project's team and admins"


class TemplateQuerySet(SoftDeleteQuerySet):
    """Templates; ``with_content()`` also loads their parameters, nodes and edges in three queries.

    Django's ``prefetch_related`` filters by the fetched instances, which costs about 70 ms per
    relation for a thousand templates; filtering by their integer pks does the same work in a few ms.
    """

    _with_content = False

    def with_content(self) -> TemplateQuerySet:
        clone = self._chain()  # type: ignore[attr-defined]  # QuerySet._chain: Django's clone, not in the stubs
        clone._with_content = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._with_content = self._with_content
        return clone

    def _fetch_all(self) -> None:
        loaded = self._result_cache is not None
        super()._fetch_all()
        if self._with_content and not loaded and self._result_cache is not None:
            attach_content([row for row in self._result_cache if isinstance(row, JobTemplate)])


def attach_content(templates: list[JobTemplate]) -> None:
    """Load the parameters, nodes and edges of ``templates`` (three queries) into their lists."""
    by_pk = {template.pk: template for template in templates}
    for template in templates:
        template.__dict__.update(prefetched_parameters=[], prefetched_nodes=[], prefetched_dependencies=[])
    if not by_pk:
        return
    pks = list(by_pk)
    for parameter in Parameter.objects.filter(template_id__in=pks).order_by("template_id", "position"):
        by_pk[parameter.template_id].__dict__["prefetched_parameters"].append(parameter)
    nodes = MetaNode.objects.filter(template_id__in=pks).select_related("child").order_by("template_id", "position")
    for node in nodes:
        by_pk[node.template_id].__dict__["prefetched_nodes"].append(node)
    for edge in MetaDependency.objects.filter(template_id__in=pks).order_by("template_id", "position"):
        by_pk[edge.template_id].__dict__["prefetched_dependencies"].append(edge)


class JobTemplate(SoftDeleteModel):
    """A job template, workable (an executor fulfilling a contract) or meta (a graph of templates)."""

    kind = models.CharField(max_length=8, choices=TemplateKind.choices, default=TemplateKind.WORKABLE)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    scope = models.CharField(max_length=8, choices=TemplateScope.choices, default=TemplateScope.PUBLIC)
    domain = models.ForeignKey(
        "contracts.Domain", on_delete=models.PROTECT, null=True, blank=True, related_name="templates"
    )
    licence = models.ForeignKey("contracts.Licence", on_delete=models.PROTECT, related_name="templates")
    project = models.ForeignKey(
        "workspaces.Project",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="templates",
        help_text="scope 'project': the members of its team can see the template",
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="templates"
    )
    creation_time = models.DateTimeField(auto_now_add=True)

    # The contract: stated by a workable template, derived by a meta-template ("" when it has none).
    contract = models.CharField(max_length=1000, blank=True, help_text="canonical contract string")
    contract_name = models.CharField(max_length=64, blank=True, db_index=True)
    # Derived at import (stored so reads never re-derive them):
    # type_parameters: get-types, {"DomainType": "Domain<'…'>"}; contract_inputs: the contract's inputs,
    # {name: [allowed type strings]} (what matching checks); inputs: the template's own inputs (a
    # meta-template's are "child:input"); outputs: {name: type string} (a meta-template's "child:output").
    type_parameters = models.JSONField(default=dict, blank=True)
    contract_inputs = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=dict, blank=True)

    # Workable templates only.
    executor_class = models.CharField(max_length=300, blank=True)
    required_packages = models.TextField(blank=True)
    # Routing (ours, workable only): the Celery queue its jobs go to ("" = the default, or the GPU
    # queue when it needs a GPU) and the least GPU generation it needs ("" = none; also the least a
    # node must have).
    queue = models.CharField(max_length=100, blank=True)
    min_hardware_generation = models.CharField(max_length=32, blank=True)

    # django-stubs: a manager redefined below a model that declares one is flagged, though Django allows it.
    objects = TemplateQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=Q(deletion_time__isnull=True),
                name="jobtemplate_unique_active_name_version",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="jobtemplate_version_positive"),
        ]
        indexes = [models.Index(fields=["name", "version"], name="jobtemplate_name_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_meta(self) -> bool:
        return self.kind == TemplateKind.META

    # Related rows in their order: the lists a listing prefetched (``to_attr``: plain lists, so reading
    # them costs no queryset clone per template), or a query when the template was loaded alone.
    def parameter_list(self) -> list[Parameter]:
        return self._related("parameters", "prefetched_parameters")

    def node_list(self) -> list[MetaNode]:
        return self._related("nodes", "prefetched_nodes")

    def dependency_list(self) -> list[MetaDependency]:
        return self._related("dependencies", "prefetched_dependencies")

    def _related(self, relation: str, prefetched: str) -> list:
        if prefetched in self.__dict__:
            return self.__dict__[prefetched]
        queryset = getattr(self, relation).order_by("position")
        return list(queryset.select_related("child") if relation == "nodes" else queryset)


class TemplateRepresentation(models.Model):
    """A template's answers kept as JSON bytes (jobtemplates.representations): made once, read by every process.

    ``detail`` is the §3.1 representation without what is spliced in per answer (creator, deletion time,
    runner and routing, runnability); ``parameters`` the get-all-parameters skeleton (the caller's
    visible values are filled in per answer); ``types``, ``outputs`` and ``export`` whole answers.
    ``fingerprint`` names the code and settings they were made with: another one is made again.
    """

    template = models.OneToOneField(
        JobTemplate, on_delete=models.CASCADE, primary_key=True, related_name="representation"
    )
    fingerprint = models.CharField(max_length=64)
    detail = models.BinaryField()
    parameters = models.BinaryField()
    types = models.BinaryField()
    outputs = models.BinaryField()
    export = models.BinaryField()

    def __str__(self) -> str:
        return f"kept representation of template {self.template_id}"


class WorkableTemplateManager(models.Manager):
    def get_queryset(self):
        return TemplateQuerySet(self.model, using=self._db).filter(kind=TemplateKind.WORKABLE)


class MetaTemplateManager(models.Manager):
    def get_queryset(self):
        return TemplateQuerySet(self.model, using=self._db).filter(kind=TemplateKind.META)


class WorkableTemplate(JobTemplate):
    """Workable templates (admin view of ``JobTemplate`` rows of kind ``workable``)."""

    objects = WorkableTemplateManager()  # type: ignore[misc,assignment]  # a proxy's own manager (as above)

    class Meta:
        proxy = True
        verbose_name = "workable template"


class MetaTemplate(JobTemplate):
    """Meta-templates (admin view of ``JobTemplate`` rows of kind ``meta``)."""

    objects = MetaTemplateManager()  # type: ignore[misc,assignment]  # a proxy's own manager (as above)

    class Meta:
        proxy = True
        verbose_name = "meta-template"


class Parameter(models.Model):
    """A template parameter. A workable template's are its own; a meta-template's are derived at import
    from its children (``child:param``, with the node's default overrides applied)."""

    template = models.ForeignKey(JobTemplate, on_delete=models.CASCADE, related_name="parameters")
    name = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)
    types = models.JSONField(help_text="allowed type strings, spelled as the author wrote them")
    help = models.TextField(blank=True)
    has_default = models.BooleanField(default=False)
    # Meaningful only when has_default (a default may itself be null, for a `Nothing` type).
    default = models.JSONField(null=True, blank=True)
    default_type = models.CharField(max_length=1000, blank=True)
    const = models.BooleanField(default=False)

    class Meta:
        ordering = ["template_id", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "name"], name="parameter_unique_name")]

    def __str__(self) -> str:
        return f"{self.template}: {self.name}"


class MetaNode(models.Model):
    """A child of a meta-template: a local name for a fixed template version, with default overrides."""

    template = models.ForeignKey(JobTemplate, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    child = models.ForeignKey(JobTemplate, on_delete=models.PROTECT, related_name="used_in_nodes")
    parameter_default_overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["template_id", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "name"], name="metanode_unique_name")]

    def __str__(self) -> str:
        return f"{self.template}: {self.name} = {self.child_id}"


class MetaDependency(models.Model):
    """An edge of a meta-template: an output of one child feeds an input of another."""

    template = models.ForeignKey(JobTemplate, on_delete=models.CASCADE, related_name="dependencies")
    position = models.PositiveIntegerField(default=0)
    from_node = models.CharField(max_length=100)
    from_output = models.CharField(max_length=300)
    to_node = models.CharField(max_length=100)
    to_input = models.CharField(max_length=300)

    class Meta:
        ordering = ["template_id", "position"]
        verbose_name_plural = "meta dependencies"
        constraints = [
            models.UniqueConstraint(fields=["template", "to_node", "to_input"], name="metadependency_input_fed_once")
        ]

    def __str__(self) -> str:
        return f"{self.from_node}.{self.from_output} → {self.to_node}.{self.to_input}"
