"""The ``import_templates`` and ``export_template`` management commands: a line per file, repeatable
seeding, failures reported (and a non-zero exit), meta-templates whose children come later in the
same run, and an export that imports back.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from jobtemplates.models import JobTemplate
from jobtemplates.services.templates import template_export, template_import
from tests.jobtemplates.conftest import REPO, UFDL_TEMPLATES, meta_body

pytestmark = pytest.mark.django_db

UFDL_FOLDER = REPO / "templates" / "ufdl"
DOGS_TRAIN = "image-classification__0010_dogs_dummy_image_class_train.json"
DOGS_PREDICT = "image-classification__0011_dogs_dummy_image_class_predict.json"


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), no_color=True)
    return out.getvalue()


def run_failing(command: str, *args: str) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(command, *args, stdout=out, stderr=StringIO(), no_color=True)
    return out.getvalue(), caught.value


def file_lines(output: str) -> list[str]:
    """The per-file lines (``<file>.json: created …``), without details and summaries."""
    return [line for line in output.splitlines() if re.match(r"^\S+\.json: ", line)]


def write(folder: Path, name: str, body) -> Path:
    path = folder / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


class TestImportTemplates:
    def test_ufdl_templates_then_unchanged_on_a_second_run(self, catalogue):
        first = file_lines(run("import_templates", str(UFDL_FOLDER)))
        assert len(first) == len(UFDL_TEMPLATES) == 29
        assert all(": created " in line for line in first), first
        assert JobTemplate.objects.count() == 29
        second = file_lines(run("import_templates", str(UFDL_FOLDER)))
        assert len(second) == 29 and all(": unchanged " in line for line in second), second
        assert JobTemplate.objects.count() == 29

    def test_one_line_per_file_names_the_template_and_warnings_are_summarised(self, catalogue):
        output = run("import_templates", str(UFDL_FOLDER / DOGS_TRAIN))
        template = JobTemplate.objects.get()
        assert file_lines(output) == [
            f"{UFDL_FOLDER / DOGS_TRAIN}: created dogs_dummy_image_class_train v1 (pk {template.pk})"
        ]
        assert "1 warning(s) executor_not_allowed (run with -v 2 to see them)" in output
        assert "    warning: specific.executor_class:" not in output
        JobTemplate.objects.all().delete()
        detailed = run("import_templates", str(UFDL_FOLDER / DOGS_TRAIN), "--verbosity", "2")
        assert "    warning: specific.executor_class:" in detailed

    def test_files_without_a_version_are_skipped_when_the_newest_is_identical(self, catalogue, tmp_path):
        body = json.loads((UFDL_FOLDER / DOGS_TRAIN).read_text())
        body.pop("version")
        write(tmp_path, "train.json", body)
        run("import_templates", str(tmp_path))
        assert "unchanged dogs_dummy_image_class_train v1" in run("import_templates", str(tmp_path))
        body["description"] = "changed"
        write(tmp_path, "train.json", body)
        assert "created dogs_dummy_image_class_train v2" in run("import_templates", str(tmp_path))

    def test_broken_files_fail_the_run_and_the_rest_still_imports(self, catalogue, tmp_path):
        shutil.copy(UFDL_FOLDER / DOGS_TRAIN, tmp_path / "a_good.json")
        write(tmp_path, "b_not_json.json", "{this is not json")
        bad = json.loads((UFDL_FOLDER / DOGS_PREDICT).read_text())
        bad["licence"] = "No such licence"
        bad["specific"]["parameters"]["per_class"]["default"] = "yes"
        write(tmp_path, "c_invalid.json", bad)
        output, error = run_failing("import_templates", str(tmp_path))
        assert "2 template file(s) failed" in str(error)
        lines = file_lines(output)
        assert any(line.startswith(f"{tmp_path / 'a_good.json'}: created") for line in lines)
        assert any(line.startswith(f"{tmp_path / 'b_not_json.json'}: FAILED: cannot read JSON") for line in lines)
        assert any(line.startswith(f"{tmp_path / 'c_invalid.json'}: FAILED") for line in lines)
        # Each problem of the invalid file is listed with its path.
        assert "    licence: " in output and "    specific.parameters.per_class.default: " in output
        assert list(JobTemplate.objects.values_list("name", flat=True)) == ["dogs_dummy_image_class_train"]

    def test_a_meta_template_whose_children_come_later_in_the_run(self, catalogue, tmp_path):
        # Files sort as: the outer meta-template, then the inner one it uses, then the workable ones.
        outer = {
            "name": "outer",
            "licence": "Apache 2.0",
            "specific": {"nodes": {"inner": {"name": "dogs_train_and_predict"}}, "dependencies": []},
        }
        write(tmp_path, "a_outer.json", outer)
        write(tmp_path, "b_inner.json", meta_body())
        shutil.copy(UFDL_FOLDER / DOGS_TRAIN, tmp_path / "z_train.json")
        shutil.copy(UFDL_FOLDER / DOGS_PREDICT, tmp_path / "z_predict.json")
        output = run("import_templates", str(tmp_path))
        assert len(file_lines(output)) == 4 and all(": created " in line for line in file_lines(output)), output
        outer_template = JobTemplate.objects.get(name="outer")
        assert outer_template.kind == "meta"
        assert "inner:train:factor" in set(outer_template.parameters.values_list("name", flat=True))

    def test_a_meta_template_whose_child_never_comes_fails(self, catalogue, tmp_path):
        write(tmp_path, "meta.json", meta_body())
        output, _ = run_failing("import_templates", str(tmp_path))
        assert f"{tmp_path / 'meta.json'}: FAILED" in output
        # A node with a version names the version, a node without one names the template.
        assert "    specific.nodes.train.version: no active template dogs_dummy_image_class_train v1" in output
        assert "    specific.nodes.predict.name: no active template dogs_dummy_image_class_predict" in output
        assert not JobTemplate.objects.exists()

    def test_a_missing_path_is_an_error(self, catalogue, tmp_path):
        _, error = run_failing("import_templates", str(tmp_path / "nowhere"))
        assert "no such file or folder" in str(error)


class TestExportTemplate:
    @pytest.fixture
    def meta(self, train_predict, admin_user) -> JobTemplate:
        return template_import(data=meta_body(), creator=admin_user).template

    @pytest.mark.parametrize("which", ["workable", "meta"])
    def test_prints_the_import_format_which_imports_back(self, train_predict, meta, admin_user, which):
        template = train_predict[0] if which == "workable" else meta
        exported = json.loads(run("export_template", str(template.pk)))
        assert exported == template_export(template=template)
        same = template_import(data=copy.deepcopy(exported), creator=admin_user)
        assert same.template.pk == template.pk and not same.created

    def test_without_version_imports_as_the_next_version(self, meta, admin_user):
        exported = json.loads(run("export_template", str(meta.pk), "--without-version"))
        assert "version" not in exported
        again = template_import(data=exported, creator=admin_user).template
        assert again.version == meta.version + 1
        copy_of = template_export(template=again)
        original = template_export(template=meta)
        assert {**copy_of, "version": None} == {**original, "version": None}

    def test_unknown_pk(self, catalogue):
        _, error = run_failing("export_template", "424242")
        assert "no template with pk 424242" in str(error)
