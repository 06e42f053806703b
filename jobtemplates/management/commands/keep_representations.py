"""Make the kept representations (TemplateRepresentation) that are missing or stale, after ``migrate``.

A kept row names the code and settings it was made with (its fingerprint). After an upgrade that changes
them, every row is stale and would be made again by the first request that reads it: the first full
list at 10,000 templates then takes minutes. Run after ``migrate`` (``make run`` and the compose
``migrate`` service do), this makes them in batches up front and prints what it did.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from jobtemplates.services.templates.representing import representations_refresh


class Command(BaseCommand):
    help = (
        "Make every template's kept representations that are missing or were made by other code or settings "
        "(all of them with --all), in batches. Run it after migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="make every template's again, current or not")
        parser.add_argument("--batch", type=int, default=500, help="templates per batch (default 500)")

    def handle(self, *args, **options) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        started = time.monotonic()
        made = 0
        for count in representations_refresh(everything=options["all"], batch=options["batch"]):
            made += count
            if options["verbosity"] >= 2:
                self.stdout.write(f"  {made} made")
        self.stdout.write(f"kept representations: {made} made in {time.monotonic() - started:.1f} s")
