"""Seed the catalogue (domains, licences, frameworks, hardware, CUDA, docker images, pretrained models).

The data is UFDL's, copied into ``contracts/fixtures/catalogue``. Seeding is idempotent: a row is
found by its natural key, created when missing, updated when its data changed and left alone
otherwise, so running it twice changes nothing. Every file is read and checked before the first
write, and the writes run in one transaction: a broken file leaves the database as it was.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction

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

DEFAULT_FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "catalogue"

# UFDL's five data domains: (2-letter name, description).
DOMAINS: tuple[tuple[str, str], ...] = (
    ("ic", "Image Classification"),
    ("is", "Image Segmentation"),
    ("od", "Object Detection"),
    ("sc", "Spectrum Classification"),
    ("sp", "Speech"),
)

# Frameworks our built-in executors name in their contracts (Framework<'scikit-learn', '1'>).
BUILTIN_FRAMEWORKS: tuple[tuple[str, str], ...] = (("scikit-learn", "1"),)

TABLES = (
    "domains",
    "licences",
    "frameworks",
    "hardware",
    "CUDA versions",
    "job contracts",
    "docker images",
    "pretrained models",
)


class CatalogueSeedError(ValueError):
    """A fixture file is missing, unreadable or names a row that does not exist."""


@dataclass
class TableReport:
    """What seeding did to one table."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class SeedReport:
    """Per-table counts of one seeding run, in seeding order."""

    tables: dict[str, TableReport] = field(default_factory=lambda: {name: TableReport() for name in TABLES})

    @property
    def created(self) -> int:
        return sum(table.created for table in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(table.updated for table in self.tables.values())

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def lines(self) -> list[str]:
        """One summary line per table."""
        return [
            f"{name}: {t.created} created, {t.updated} updated, {t.unchanged} unchanged"
            for name, t in self.tables.items()
        ]


# --- reading the files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueData:
    """Everything the seed writes, read from the fixture files."""

    licences: list[dict[str, str]]
    frameworks: list[tuple[str, str]]
    hardware: list[dict[str, Any]]
    cuda_versions: list[dict[str, str]]
    contracts: dict[str, dict[str, str]]
    docker_images: list[tuple[str, dict[str, Any]]]
    pretrained_models: list[tuple[str, dict[str, Any]]]


def _read_csv(path: Path, columns: Iterable[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = set(columns) - set(reader.fieldnames or ())
            if missing:
                raise CatalogueSeedError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
            rows = []
            for row in reader:
                values = {key: (value or "").strip() for key, value in row.items() if key is not None}
                if any(values.values()):  # tolerate blank lines
                    rows.append(values)
            return rows
    except OSError as exc:
        raise CatalogueSeedError(f"cannot read {path}: {exc}") from exc


def _read_json_dir(directory: Path, required: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    if not directory.is_dir():
        raise CatalogueSeedError(f"{directory} is not a directory")
    documents = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogueSeedError(f"{path.name}: {exc}") from exc
        if not isinstance(document, dict):
            raise CatalogueSeedError(f"{path.name}: expected a JSON object")
        missing = set(required) - set(document)
        if missing:
            raise CatalogueSeedError(f"{path.name}: missing key(s) {', '.join(sorted(missing))}")
        documents.append((path.name, document))
    return documents


def _float(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise CatalogueSeedError(f"{where}: {value!r} is not a number") from exc


def catalogue_load(fixtures_dir: Path) -> CatalogueData:
    """Read and check every fixture file under ``fixtures_dir`` (no database access)."""
    licences = _read_csv(fixtures_dir / "licenses.csv", ("license", "url"))
    frameworks: list[tuple[str, str]] = []
    framework_dir = fixtures_dir / "frameworks"
    if not framework_dir.is_dir():
        raise CatalogueSeedError(f"{framework_dir} is not a directory")
    for path in sorted(framework_dir.glob("*.csv")):
        for row in _read_csv(path, ("name", "version")):
            key = (row["name"], row["version"])
            if key not in frameworks:
                frameworks.append(key)
    for key in BUILTIN_FRAMEWORKS:
        if key not in frameworks:
            frameworks.append(key)
    hardware = [
        {
            "generation": row["generation"],
            "min_compute_capability": _float(row["min_compute_capability"], f"hardware.csv {row['generation']}"),
            "max_compute_capability": _float(row["max_compute_capability"], f"hardware.csv {row['generation']}"),
        }
        for row in _read_csv(
            fixtures_dir / "hardware.csv", ("generation", "min_compute_capability", "max_compute_capability")
        )
    ]
    cuda_versions = _read_csv(fixtures_dir / "cuda.csv", ("cuda_version", "cuda_full_version", "driver_min_version"))
    contracts = {
        row["name"]: {"pkg": row["package"], "cls": row["cls"]}
        for row in _read_csv(fixtures_dir / "job_contracts.csv", ("name", "package", "cls"))
    }
    docker_images = _read_json_dir(
        fixtures_dir / "docker_images",
        ("name", "version", "url", "registry", "cuda_version", "framework", "domain", "tasks", "cpu", "license"),
    )
    pretrained_models = _read_json_dir(
        fixtures_dir / "pretrained_models", ("name", "url", "framework", "domain", "licence")
    )
    return CatalogueData(
        licences=licences,
        frameworks=frameworks,
        hardware=hardware,
        cuda_versions=cuda_versions,
        contracts=contracts,
        docker_images=docker_images,
        pretrained_models=pretrained_models,
    )


# --- writing -----------------------------------------------------------------------------------------


def _upsert(table: TableReport, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]):
    """Find the row by ``lookup``; create it, update the ``values`` that differ, or leave it alone.

    ``values`` uses attribute names (``domain_id``), so comparing never loads a related row.
    """
    instance = model._default_manager.filter(**lookup).first()
    if instance is None:
        table.created += 1
        return model._default_manager.create(**lookup, **values)
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.save(update_fields=[model._meta.get_field(name).name for name in changed])
        table.updated += 1
    else:
        table.unchanged += 1
    return instance


class _Seeder:
    """One seeding run: remembers the rows it wrote so later tables can point at them."""

    def __init__(self, data: CatalogueData) -> None:
        self.data = data
        self.report = SeedReport()
        self.domains: dict[str, Domain] = {}
        self.licences: dict[str, Licence] = {}
        self.frameworks: dict[tuple[str, str], Framework] = {}
        self.hardware: dict[str, Hardware] = {}
        self.cuda_versions: dict[str, CUDAVersion] = {}
        self.contracts: dict[str, JobContract] = {}

    def run(self) -> SeedReport:
        self.seed_domains()
        self.seed_licences()
        for name, version in self.data.frameworks:
            self.framework(name, version)
        self.seed_hardware()
        self.seed_cuda_versions()
        for filename, document in self.data.docker_images:
            self.seed_docker_image(filename, document)
        for filename, document in self.data.pretrained_models:
            self.seed_pretrained_model(filename, document)
        return self.report

    def seed_domains(self) -> None:
        table = self.report.tables["domains"]
        for name, description in DOMAINS:
            self.domains[name] = _upsert(table, Domain, {"name": name}, {"description": description})

    def seed_licences(self) -> None:
        table = self.report.tables["licences"]
        for row in self.data.licences:
            self.licences[row["license"]] = _upsert(table, Licence, {"name": row["license"]}, {"url": row["url"]})

    def seed_hardware(self) -> None:
        table = self.report.tables["hardware"]
        for row in self.data.hardware:
            values = {k: v for k, v in row.items() if k != "generation"}
            self.hardware[row["generation"]] = _upsert(table, Hardware, {"generation": row["generation"]}, values)

    def seed_cuda_versions(self) -> None:
        table = self.report.tables["CUDA versions"]
        for row in self.data.cuda_versions:
            self.cuda_versions[row["cuda_version"]] = _upsert(
                table,
                CUDAVersion,
                {"version": row["cuda_version"]},
                {"full_version": row["cuda_full_version"], "min_driver_version": row["driver_min_version"]},
            )

    def framework(self, name: str, version: str) -> Framework:
        """The framework row, created (and counted) the first time anything names it."""
        key = (name, version)
        if key not in self.frameworks:
            self.frameworks[key] = _upsert(
                self.report.tables["frameworks"], Framework, {"name": name, "version": version}, {}
            )
        return self.frameworks[key]

    def contract(self, name: str, where: str) -> JobContract:
        """The contract row; created from job_contracts.csv when the registry has not synced it yet."""
        if name not in self.contracts:
            defaults = self.data.contracts.get(name)
            if defaults is None:
                raise CatalogueSeedError(f"{where}: unknown contract {name!r} (not in job_contracts.csv)")
            table = self.report.tables["job contracts"]
            # The registry sync owns pkg/cls of existing rows: never overwrite them here.
            contract, created = JobContract.objects.get_or_create(name=name, defaults=defaults)
            if created:
                table.created += 1
            else:
                table.unchanged += 1
            self.contracts[name] = contract
        return self.contracts[name]

    def _lookup(self, rows: dict, key: str, what: str, where: str):
        try:
            return rows[key]
        except KeyError:
            raise CatalogueSeedError(f"{where}: unknown {what} {key!r}") from None

    def seed_docker_image(self, filename: str, document: dict[str, Any]) -> None:
        framework_spec = document["framework"]
        if not isinstance(framework_spec, dict) or not {"name", "version"} <= set(framework_spec):
            raise CatalogueSeedError(f"{filename}: framework must be an object with name and version")
        registry = document["registry"] if isinstance(document["registry"], dict) else {}
        hardware_name = document.get("min_hardware_generation") or ""
        values = {
            "url": document["url"],
            "registry_url": registry.get("url", ""),
            "registry_username": registry.get("user") or None,
            "registry_password": registry.get("password") or None,
            "cuda_version_id": self._lookup(self.cuda_versions, document["cuda_version"], "CUDA version", filename).pk,
            "framework_id": self.framework(str(framework_spec["name"]), str(framework_spec["version"])).pk,
            "domain_id": self._lookup(self.domains, document["domain"], "domain", filename).pk,
            "min_hardware_generation_id": (
                self._lookup(self.hardware, hardware_name, "hardware generation", filename).pk
                if hardware_name
                else None
            ),
            "cpu": bool(document["cpu"]),
            "licence_id": self._lookup(self.licences, document["license"], "licence", filename).pk,
        }
        tasks = [self.contract(name, filename) for name in document["tasks"]]
        table = self.report.tables["docker images"]
        before = (table.created, table.updated)
        image = _upsert(table, DockerImage, {"name": document["name"], "version": document["version"]}, values)
        wanted = {contract.pk for contract in tasks}
        if set(image.tasks.values_list("pk", flat=True)) != wanted:
            image.tasks.set(wanted)
            if (table.created, table.updated) == before:  # the row itself was unchanged
                table.unchanged -= 1
                table.updated += 1

    def seed_pretrained_model(self, filename: str, document: dict[str, Any]) -> None:
        name, sep, version = str(document["framework"]).partition("|")
        if not sep or not name or not version:
            raise CatalogueSeedError(f"{filename}: framework must be 'name|version', not {document['framework']!r}")
        framework = self.framework(name, version)
        _upsert(
            self.report.tables["pretrained models"],
            PretrainedModel,
            {"name": document["name"], "framework_id": framework.pk},
            {
                "description": document.get("description") or "",
                "url": document["url"],
                "source": document.get("source") or "",
                "domain_id": self._lookup(self.domains, document["domain"], "domain", filename).pk,
                "licence_id": self._lookup(self.licences, document["licence"], "licence", filename).pk,
                "metadata": document.get("metadata") or {},
            },
        )


def catalogue_seed(*, fixtures_dir: Path | None = None) -> SeedReport:
    """Create or update the catalogue from the fixture files; returns what changed per table."""
    data = catalogue_load(Path(fixtures_dir) if fixtures_dir is not None else DEFAULT_FIXTURES_DIR)
    with transaction.atomic():
        return _Seeder(data).run()
