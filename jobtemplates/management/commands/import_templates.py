"""Import template JSON files (or folders of them), a line per file; exit non-zero if any failed. The
template tables are analysed afterwards when anything was created, so the planner knows their size."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from jobtemplates.services.templates import template_import
from jobtemplates.services.templates.statistics import template_tables_analyse


def template_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{raw}: no such file or folder")
    return files


def is_meta(body) -> bool:
    specific = body.get("specific") if isinstance(body, dict) else None
    return isinstance(specific, dict) and ("nodes" in specific or "dependencies" in specific)


class Command(BaseCommand):
    help = (
        "Import job templates from JSON files or folders (searched recursively). Workable templates go "
        "first, then meta-templates, retried until their children exist. Files without a version are "
        "skipped when the newest version has identical content, so seeding can be repeated."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="template JSON files or folders")

    def handle(self, *args, paths: list[str], **options) -> None:
        bodies: dict[Path, object] = {}
        failed = 0
        for file in template_files(paths):
            try:
                bodies[file] = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                self.stdout.write(self.style.ERROR(f"{file}: FAILED: cannot read JSON: {error}"))
                failed += 1
        pending = sorted(bodies, key=lambda file: (is_meta(bodies[file]), str(file)))
        errors: dict[Path, ApplicationError] = {}
        warned: dict[str, int] = {}
        created = 0
        verbose = options.get("verbosity", 1) >= 2
        while pending:
            errors = {}
            for file in pending:
                try:
                    result = template_import(data=bodies[file], creator=None, reuse_identical_latest=True)
                except ApplicationError as error:
                    errors[file] = error
                    continue
                template = result.template
                assert template is not None  # an import (not a validation) gives the template
                state = "created" if result.created else "unchanged"
                created += result.created
                self.stdout.write(f"{file}: {state} {template.name} v{template.version} (pk {template.pk})")
                for warning in result.warnings:
                    warned[warning.code] = warned.get(warning.code, 0) + 1
                    if verbose:
                        self.stdout.write(f"    warning: {warning.path}: {warning.message}")
            # A meta-template may name a child imported later in this run: retry while progress is made.
            if len(errors) == len(pending):
                break
            pending = list(errors)
        if created:
            # Autovacuum would analyse the new rows only later: plan the next requests from their real size.
            tables = template_tables_analyse()
            if verbose:
                self.stdout.write(f"analysed {', '.join(tables)}")
        for code, count in sorted(warned.items()):
            hint = "" if verbose else " (run with -v 2 to see them)"
            self.stdout.write(self.style.WARNING(f"{count} warning(s) {code}{hint}"))
            if code == "executor_not_allowed":
                self.stdout.write(
                    "    those templates import as data: they run on UFDL job-launcher nodes (EXECUTOR_NODE_MODULES) "
                    "or on workers allowed their module; each template's runnable_by says which"
                )
        for file, failure in errors.items():
            failed += 1
            self.stdout.write(self.style.ERROR(f"{file}: FAILED: {failure.detail}"))
            for problem in failure.problems:
                self.stdout.write(self.style.ERROR(f"    {problem.path or '(body)'}: {problem.message}"))
        if failed:
            raise CommandError(f"{failed} template file(s) failed to import")
