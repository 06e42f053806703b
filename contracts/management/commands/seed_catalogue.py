"""``manage.py seed_catalogue``: create or update the catalogue rows from the fixture files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.services.catalogue_seed import DEFAULT_FIXTURES_DIR, CatalogueSeedError, catalogue_seed


class Command(BaseCommand):
    help = (
        "Seed domains, licences, frameworks, hardware, CUDA versions, docker images and pretrained models "
        "(idempotent: rows are created or updated; a second run changes nothing). Prints one line per table."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fixtures-dir",
            type=Path,
            default=None,
            help=f"folder holding the catalogue files (default: {DEFAULT_FIXTURES_DIR})",
        )

    def handle(self, *args, fixtures_dir: Path | None = None, **options) -> None:
        try:
            report = catalogue_seed(fixtures_dir=fixtures_dir)
        except CatalogueSeedError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
