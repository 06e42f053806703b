"""Print a template in the import format (JSON), by primary key."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from jobtemplates.selectors import template_list
from jobtemplates.services.templates import template_export


class Command(BaseCommand):
    help = "Export a job template (workable or meta) as JSON in the import format."

    def add_arguments(self, parser) -> None:
        parser.add_argument("pk", type=int)
        parser.add_argument(
            "--without-version",
            action="store_true",
            help="leave the version out, so importing the output adds the next version",
        )

    def handle(self, *args, pk: int, without_version: bool, **options) -> None:
        template = template_list(user=None).filter(pk=pk).first()
        if template is None:
            raise CommandError(f"no template with pk {pk}")
        exported = template_export(template=template)
        if without_version:
            exported.pop("version")
        self.stdout.write(json.dumps(exported, indent=2, ensure_ascii=False))
