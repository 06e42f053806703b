"""Factories for the rows server-resident types point at (catalogue, datasets, job outputs)."""

from __future__ import annotations

import factory

from contracts.models import CUDAVersion, Dataset, DockerImage, Domain, Framework, Hardware, Licence, PretrainedModel
from jobtemplates.models import Job, JobOutput, JobTemplate, TemplateScope

IC = "Image Classification"


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("name",)

    name = "ic"
    description = IC


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Licence
        django_get_or_create = ("name",)

    name = "Apache 2.0"


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Framework
        django_get_or_create = ("name", "version")

    name = "scikit-learn"
    version = "1"


class HardwareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hardware
        django_get_or_create = ("generation",)

    generation = "Pascal"
    min_compute_capability = 6.0
    max_compute_capability = 7.0


class CUDAVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CUDAVersion
        django_get_or_create = ("version",)

    version = "11.1"
    full_version = factory.LazyAttribute(lambda cuda: f"{cuda.version}.0")
    min_driver_version = "455.23"


class DockerImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DockerImage

    name = factory.Sequence(lambda n: f"image{n}")
    version = "1.0"
    url = factory.LazyAttribute(lambda image: f"registry.example.com/{image.name}:{image.version}")
    registry_url = "registry.example.com"
    registry_username = "public"
    registry_password = "s3cret-registry-password"
    cuda_version = factory.SubFactory(CUDAVersionFactory)
    framework = factory.SubFactory(FrameworkFactory)
    domain = factory.SubFactory(DomainFactory)
    min_hardware_generation = factory.SubFactory(HardwareFactory)
    licence = factory.SubFactory(LicenceFactory)


class PretrainedModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PretrainedModel

    name = factory.Sequence(lambda n: f"model{n}")
    url = factory.LazyAttribute(lambda model: f"https://models.example.com/{model.name}.pth")
    framework = factory.SubFactory(FrameworkFactory)
    domain = factory.SubFactory(DomainFactory)
    licence = factory.SubFactory(LicenceFactory)


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"dataset{n}")
    version = 1
    domain = factory.SubFactory(DomainFactory)
    licence = factory.SubFactory(LicenceFactory)
    is_public = False


def speech_domain() -> Domain:
    return DomainFactory(name="sp", description="Speech")


def datasets_through_the_service(*, creator, project) -> list[Dataset]:
    """Datasets made the way the API and the demo seeding make them (``dataset_create``) on the seeded
    catalogue, one per shape a value can take: public, in a project, plain; two domains."""
    from contracts.services.datasets import dataset_create

    licence = Licence.objects.get(name="CC-BY-4.0")
    image_classification = Domain.objects.get(name="ic")
    return [
        dataset_create(creator=creator, name="digits", domain=image_classification, licence=licence, is_public=True),
        dataset_create(
            creator=creator,
            name="birds",
            domain=image_classification,
            licence=licence,
            description="Birds, by species",
            project=project,
        ),
        dataset_create(creator=creator, name="speech", domain=Domain.objects.get(name="sp"), licence=licence),
    ]


def job_output(
    *, type_: str, creator=None, scope: str = TemplateScope.PUBLIC, name: str = "model", **fields
) -> JobOutput:
    """A job output of ``type_`` on a fresh job (by ``creator``) of a fresh template of ``scope``."""
    template = JobTemplate.objects.create(
        name=f"template{JobTemplate.objects.count()}",
        version=1,
        scope=scope,
        licence=LicenceFactory(),
        creator=creator,
        contract="Export",
        contract_name="Export",
    )
    job = Job.objects.create(template=template, creator=creator)
    return JobOutput.objects.create(job=job, name=name, type=type_, file=f"job-outputs/{job.pk}/{name}", **fields)
