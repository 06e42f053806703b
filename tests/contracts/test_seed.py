"""Tests of contracts/services/catalogue_seed.py and the seed_catalogue command."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from django.core.management import CommandError, call_command

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
from contracts.services.catalogue_seed import DEFAULT_FIXTURES_DIR, CatalogueSeedError, catalogue_seed

pytestmark = pytest.mark.django_db

# Counted from the files in contracts/fixtures/catalogue (a copy of UFDL's catalogue):
# licenses.csv has 15 lines with its header; the framework CSVs hold 18 distinct name+version pairs,
# plus our built-in scikit-learn 1; hardware.csv 8 generations; cuda.csv 21 versions (with 0.0).
EXPECTED_COUNTS = {
    Domain: 5,
    Licence: 14,
    Framework: 19,
    Hardware: 8,
    CUDAVersion: 21,
    DockerImage: 23,
    PretrainedModel: 16,
}


@pytest.fixture
def fixtures_copy(tmp_path):
    """A writable copy of the catalogue files, to seed from after changing them."""
    target = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_FIXTURES_DIR, target)
    return target


def test_seed_creates_the_catalogue_with_the_fixture_counts():
    report = catalogue_seed()
    for model, count in EXPECTED_COUNTS.items():
        assert model.objects.count() == count, model.__name__
    assert report.tables["licences"].created == 14
    assert report.tables["frameworks"].created == 19
    assert report.tables["docker images"].created == 23
    assert report.tables["pretrained models"].created == 16
    assert report.updated == 0


def test_the_five_ufdl_domains():
    catalogue_seed()
    assert sorted(Domain.objects.values_list("name", "description")) == [
        ("ic", "Image Classification"),
        ("is", "Image Segmentation"),
        ("od", "Object Detection"),
        ("sc", "Spectrum Classification"),
        ("sp", "Speech"),
    ]


def test_frameworks_are_the_union_of_the_csvs_plus_scikit_learn():
    catalogue_seed()
    frameworks = set(Framework.objects.values_list("name", "version"))
    assert ("scikit-learn", "1") in frameworks
    assert ("tensorflow", "1.14") in frameworks  # listed in three CSVs, stored once
    assert ("weka", "classifier") in frameworks
    assert Framework.objects.filter(name="tensorflow", version="1.14").count() == 1


def test_seeding_twice_changes_nothing():
    catalogue_seed()
    before = {model: sorted(model.objects.values_list("pk", flat=True)) for model in EXPECTED_COUNTS}
    report = catalogue_seed()
    assert report.created == 0
    assert report.updated == 0
    assert not report.changed
    assert all(table.unchanged == table.total for table in report.tables.values())
    assert {model: sorted(model.objects.values_list("pk", flat=True)) for model in EXPECTED_COUNTS} == before


def test_docker_image_rows():
    catalogue_seed()
    objdet = DockerImage.objects.get(name="tf_objdet", version="1.14.0_2019-08-31")
    assert sorted(objdet.tasks.values_list("name", flat=True)) == ["Export", "Predict", "Train"]
    assert (objdet.framework.name, objdet.framework.version) == ("tensorflow", "1.14")
    assert objdet.cuda_version.version == "10.0"
    assert objdet.min_hardware_generation.generation == "Pascal"
    assert objdet.domain.name == "od"
    assert objdet.licence.name == "Apache 2.0"
    assert objdet.registry_password == "public"
    cpu_image = DockerImage.objects.get(name="mmclassification_cpu", version="0.25.0")
    assert cpu_image.cpu is True
    assert cpu_image.min_hardware_generation is None
    assert cpu_image.cuda_version.version == "0.0"


def test_pretrained_models_are_unique_per_framework():
    catalogue_seed()
    mobilenet = PretrainedModel.objects.filter(name="mobilenet_v3_small-8427ecf0")
    assert sorted(mobilenet.values_list("framework__version", flat=True)) == ["0.23.1", "0.25.0"]
    yolo = PretrainedModel.objects.get(name="yolov5m_v6.0")
    assert (yolo.framework.name, yolo.framework.version, yolo.licence.name, yolo.domain.name) == (
        "yolo",
        "v5",
        "GPL3",
        "od",
    )
    assert len(PretrainedModel.objects.get(name="faster_rcnn_r101_fpn_1x_20181129-d1468807").metadata["classes"]) == 80


def test_missing_contracts_are_created_from_the_csv_and_existing_ones_are_left_alone():
    JobContract.objects.all().delete()
    JobContract.objects.create(name="Train", pkg="ours", cls="contracts.contracts.Train")
    report = catalogue_seed()
    assert report.tables["job contracts"].created == 2
    assert JobContract.objects.get(name="Train").cls == "contracts.contracts.Train"
    assert JobContract.objects.get(name="Export").cls == "ufdl.jobcontracts.standard.Export"


def test_changed_data_updates_the_rows(fixtures_copy):
    catalogue_seed(fixtures_dir=fixtures_copy)
    licences = fixtures_copy / "licenses.csv"
    licences.write_text(licences.read_text().replace("https://opensource.org/licenses/MIT", "https://mit.example/"))
    image_file = fixtures_copy / "docker_images" / "pww3_cpu-0.2.12.json"
    image = json.loads(image_file.read_text())
    image["tasks"] = ["Predict"]
    image_file.write_text(json.dumps(image))

    report = catalogue_seed(fixtures_dir=fixtures_copy)

    assert report.tables["licences"].updated == 1
    assert report.tables["docker images"].updated == 1
    assert report.tables["docker images"].unchanged == 22
    assert Licence.objects.get(name="MIT").url == "https://mit.example/"
    assert list(DockerImage.objects.get(name="pww3_cpu").tasks.values_list("name", flat=True)) == ["Predict"]


def test_a_broken_file_writes_nothing(fixtures_copy):
    image_file = fixtures_copy / "docker_images" / "yolact-2020-02-11.json"
    image = json.loads(image_file.read_text())
    image["license"] = "No Such Licence"
    image_file.write_text(json.dumps(image))
    with pytest.raises(CatalogueSeedError, match="No Such Licence"):
        catalogue_seed(fixtures_dir=fixtures_copy)
    assert Licence.objects.count() == 0
    assert DockerImage.objects.count() == 0


def test_an_unreadable_file_is_reported(fixtures_copy):
    (fixtures_copy / "pretrained_models" / "yolo_v5_yolov5m_v6.0.json").write_text("{not json")
    with pytest.raises(CatalogueSeedError, match="yolo_v5_yolov5m_v6.0.json"):
        catalogue_seed(fixtures_dir=fixtures_copy)


def test_command_prints_one_line_per_table():
    out = io.StringIO()
    call_command("seed_catalogue", stdout=out)
    lines = out.getvalue().splitlines()
    assert "licences: 14 created, 0 updated, 0 unchanged" in lines
    assert "docker images: 23 created, 0 updated, 0 unchanged" in lines
    assert len(lines) == 8
    out = io.StringIO()
    call_command("seed_catalogue", stdout=out)
    assert "pretrained models: 0 created, 0 updated, 16 unchanged" in out.getvalue().splitlines()


def test_command_reports_a_bad_folder(tmp_path):
    with pytest.raises(CommandError):
        call_command("seed_catalogue", fixtures_dir=tmp_path / "nowhere", stdout=io.StringIO())


def test_seeded_catalogue_fixture(seeded_catalogue):
    assert seeded_catalogue.tables["domains"].total == 5
    assert Domain.objects.count() == 5
