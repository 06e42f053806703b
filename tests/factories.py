"""factory_boy factories for test data."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-password")


# --- teams and projects (workspaces app) ------------------------------------------------------------


class TeamFactory(factory.django.DjangoModelFactory):
    """A team; ``members={user: "W", …}`` gives it members at those levels."""

    class Meta:
        model = "workspaces.Team"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"team{n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            for member, level in extracted.items():
                MembershipFactory(team=self, user=member, permissions=level)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "workspaces.Membership"

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    permissions = "W"


class ProjectFactory(factory.django.DjangoModelFactory):
    """A project of a new team; ``members={user: "W", …}`` makes them members of that team."""

    class Meta:
        model = "workspaces.Project"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"project{n}")
    team = factory.SubFactory(TeamFactory)

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            for member, level in extracted.items():
                MembershipFactory(team=self.team, user=member, permissions=level)


def member_of(user, project, permissions: str = "W"):
    """Make ``user`` an active member of ``project``'s team at ``permissions`` (R, X, W or A)."""
    return MembershipFactory(team=project.team, user=user, permissions=permissions)


# --- catalogue (contracts app) -----------------------------------------------------------------------

DOMAIN_DESCRIPTIONS = {
    "ic": "Image Classification",
    "is": "Image Segmentation",
    "od": "Object Detection",
    "sc": "Spectrum Classification",
    "sp": "Speech",
}


class DomainFactory(factory.django.DjangoModelFactory):
    """One of UFDL's five domains (``ic`` unless told), reusing the row when it exists."""

    class Meta:
        model = "contracts.Domain"
        django_get_or_create = ("name",)

    name = "ic"
    description = factory.LazyAttribute(lambda d: DOMAIN_DESCRIPTIONS.get(d.name, f"Domain {d.name}"))


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contracts.Licence"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Licence {n}")
    url = factory.LazyAttribute(lambda lic: f"https://licences.example.com/{lic.name.replace(' ', '-')}")


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contracts.Framework"
        django_get_or_create = ("name", "version")

    name = factory.Sequence(lambda n: f"framework{n}")
    version = "1"


class HardwareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contracts.Hardware"
        django_get_or_create = ("generation",)

    generation = factory.Sequence(lambda n: f"Generation{n}")
    min_compute_capability = 5.0
    max_compute_capability = 6.0


class CUDAVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contracts.CUDAVersion"
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"90.{n}")
    full_version = factory.LazyAttribute(lambda c: f"{c.version}.0")
    min_driver_version = "500.0"


class JobContractFactory(factory.django.DjangoModelFactory):
    """A contract row by name, reusing it when it exists (the registry sync makes Train/Predict/Export)."""

    class Meta:
        model = "contracts.JobContract"
        rename = {"class_path": "cls"}  # ``cls`` cannot be a factory declaration

    name = "Train"
    pkg = "ufdl.jobcontracts"
    class_path = factory.LazyAttribute(lambda c: f"ufdl.jobcontracts.standard.{c.name}")

    @classmethod
    def _create(factory_class, model_class, *args, **kwargs):  # not ``cls``: that is a field of the model
        name = kwargs.pop("name")
        return model_class.objects.get_or_create(name=name, defaults=kwargs)[0]


class DockerImageFactory(factory.django.DjangoModelFactory):
    """A docker image; ``tasks=["Train", …]`` names its contracts (rows made when missing).

    Unless told, it stands on catalogue rows as UFDL's seed has them, made once and then shared: domain
    ``ic``, scikit-learn 1 (so its type is ``DockerImage<Domain<'Image Classification'>,
    Framework<'scikit-learn', '1'>>``), CUDA 11.1, Pascal GPUs, Apache 2.0. The catalogue factories
    called on their own make fresh rows instead."""

    class Meta:
        model = "contracts.DockerImage"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"image{n}")
    version = "1.0"
    url = factory.LazyAttribute(lambda i: f"registry.example.com/{i.name}:{i.version}")
    registry_url = "registry.example.com"
    registry_username = "public"
    registry_password = "registry-secret-do-not-leak"
    cuda_version = factory.SubFactory(CUDAVersionFactory, version="11.1", min_driver_version="455.23")
    framework = factory.SubFactory(FrameworkFactory, name="scikit-learn", version="1")
    domain = factory.SubFactory(DomainFactory)
    min_hardware_generation = factory.SubFactory(
        HardwareFactory, generation="Pascal", min_compute_capability=6.0, max_compute_capability=7.0
    )
    cpu = False
    licence = factory.SubFactory(LicenceFactory, name="Apache 2.0")

    @factory.post_generation
    def tasks(self, create, extracted, **kwargs):
        if create and extracted:
            self.tasks.set([JobContractFactory(name=name) for name in extracted])


class PretrainedModelFactory(factory.django.DjangoModelFactory):
    """A pretrained model on the docker images' rows (``ic``, scikit-learn 1, Apache 2.0); no description
    or source."""

    class Meta:
        model = "contracts.PretrainedModel"

    name = factory.Sequence(lambda n: f"model{n}")
    url = factory.LazyAttribute(lambda m: f"https://models.example.com/{m.name}.pth")
    framework = factory.SubFactory(FrameworkFactory, name="scikit-learn", version="1")
    domain = factory.SubFactory(DomainFactory)
    licence = factory.SubFactory(LicenceFactory, name="Apache 2.0")
    metadata = factory.LazyFunction(dict)


# --- datasets (workspaces app) ------------------------------------------------------------------------


class DatasetFactory(factory.django.DjangoModelFactory):
    """A private, personal (no project) image-classification dataset of a new user; ``files={"name":
    b"bytes"}`` stores files through the service (point ``settings.MEDIA_ROOT`` at a temporary folder
    first), ``categories={"name": ["label"]}`` labels them."""

    class Meta:
        model = "workspaces.Dataset"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"dataset{n}")
    version = 1
    description = ""
    domain = factory.SubFactory(DomainFactory)
    licence = factory.SubFactory(LicenceFactory)
    creator = factory.SubFactory(UserFactory)
    project = None
    is_public = False

    @factory.post_generation
    def files(self, create, extracted, **kwargs):
        if not (create and extracted):
            return
        from django.core.files.base import ContentFile

        from workspaces.services.datasets import dataset_file_upload

        for filename, data in extracted.items():
            dataset_file_upload(dataset=self, filename=filename, content=ContentFile(data))

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            from workspaces.services.datasets import dataset_categories_set

            dataset_categories_set(dataset=self, categories=extracted)


# --- jobs (jobtemplates app) ---------------------------------------------------------------------------


def _route(template):
    from jobtemplates.services.jobs.enqueueing import job_route

    return job_route(template)


class JobFactory(factory.django.DjangoModelFactory):
    """A job row in whatever state a test needs (``status``, times, claim), without running anything.

    The default template is the built-in ``noop`` (import it first); pass ``template=`` for another.
    """

    class Meta:
        model = "jobtemplates.Job"

    template = factory.LazyFunction(lambda: _template_named("noop"))
    creator = factory.SubFactory(UserFactory)
    status = "created"
    description = factory.Sequence(lambda n: f"job {n}")
    input_values = factory.LazyFunction(dict)
    resolved_parameters = factory.LazyFunction(dict)
    # Routed as create-job routes it (runners.routing): meta, celery on its queue, or node.
    runner = factory.LazyAttribute(lambda job: _route(job.template)[0])
    queue = factory.LazyAttribute(lambda job: _route(job.template)[1])

    class Params:
        # Claimed by worker w1 (``heartbeat=`` to age it).
        running = factory.Trait(
            status="running",
            start_time=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=10)),
            heartbeat=factory.LazyFunction(timezone.now),
            claim_token=factory.LazyFunction(uuid.uuid4),
            worker="w1@host",
            attempts=1,
        )
        # Sent to the workers once, just now (``enqueued_time=`` to age it).
        queued = factory.Trait(sends=1, enqueued_time=factory.LazyFunction(timezone.now))
        finished = factory.Trait(
            status="finished",
            start_time=factory.LazyFunction(timezone.now),
            end_time=factory.LazyFunction(timezone.now),
            progress=1.0,
            worker="w1@host",
            attempts=1,
        )
        errored = factory.Trait(
            status="errored",
            start_time=factory.LazyFunction(timezone.now),
            end_time=factory.LazyFunction(timezone.now),
            error_reason="RuntimeError: boom",
            worker="w1@host",
            attempts=1,
        )
        cancelled = factory.Trait(status="cancelled", is_cancelled=True, end_time=factory.LazyFunction(timezone.now))


def _template_named(name: str):
    from jobtemplates.models import JobTemplate

    return JobTemplate.objects.active().filter(name=name).order_by("-version").first()
