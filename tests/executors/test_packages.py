"""``missing_packages``: which of a template's ``required_packages`` this worker lacks, each reported as
written (with the installed version when only the version is wrong). Checked against this virtual
environment's real distributions."""

from __future__ import annotations

from importlib import metadata

import pytest

from runners.packages import missing_packages

DJANGO = metadata.version("django")
CELERY = metadata.version("celery")


@pytest.mark.parametrize(
    "required",
    [
        "",
        "   ",
        "django",
        "Django>=5 celery",
        f"django=={DJANGO}",
        "django>=1,<1000",
        # distribution names are compared normalised (case, - _ .)
        "DjangoRestFramework_SimpleJWT drf.spectacular",
        # extras do not matter to whether the distribution is installed
        "celery[redis]>=5",
    ],
)
def test_satisfied_requirements(required):
    assert missing_packages(required) == []


def test_a_package_that_is_not_installed():
    assert missing_packages("surely-not-installed-pkg>=1") == ["surely-not-installed-pkg>=1"]


def test_an_installed_package_of_the_wrong_version_names_the_installed_one():
    assert missing_packages("django<1 celery>=999") == [
        f"django<1 (installed: {DJANGO})",
        f"celery>=999 (installed: {CELERY})",
    ]


def test_every_missing_item_is_reported_in_order():
    assert missing_packages("django surely-missing-a packaging surely-missing-b==2") == [
        "surely-missing-a",
        "surely-missing-b==2",
    ]


def test_an_invalid_requirement_is_reported_as_such():
    assert missing_packages("django>>1") == ["django>>1 (not a valid requirement)"]


def test_a_requirement_whose_marker_does_not_apply_is_skipped():
    assert missing_packages('surely-not-installed-pkg;python_version<"3"') == []
    assert missing_packages('surely-not-installed-pkg;python_version>="3"') == [
        'surely-not-installed-pkg;python_version>="3"'
    ]


def test_a_prerelease_that_fits_the_specifier_counts(monkeypatch):
    monkeypatch.setattr(metadata, "version", lambda name: "2.0rc1")
    assert missing_packages("anything>=1.5") == []


class TestURLs:
    def test_a_url_naming_its_package_by_egg_is_checked_by_that_name(self):
        assert missing_packages("git+https://github.com/django/django.git#egg=django") == []
        url = "git+https://example.com/plugins.git#egg=surely_missing_plugins"
        assert missing_packages(url) == [url]

    def test_a_url_without_a_name_cannot_be_checked_and_is_skipped(self):
        # UFDL's templates all require their plugins repository this way.
        assert missing_packages("git+https://github.com/waikato-ufdl/ufdl-job-launcher-plugins.git") == []

    def test_a_pep_508_direct_reference_is_checked_by_its_name(self):
        assert missing_packages("django@https://example.com/django.zip") == []
        reference = "surely-missing-plugins@git+https://example.com/plugins.git"
        assert missing_packages(reference) == [reference]
