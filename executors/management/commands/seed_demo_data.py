"""``manage.py seed_demo_data``: the demo datasets (scikit-learn's digits as PNG images), once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from executors.management.demo_data import DemoDataUnavailable, demo_data_seed


class Command(BaseCommand):
    help = (
        "Create the public demo datasets 'digits' v1 (training) and 'digits-test' v1 (predicting): scikit-learn's "
        "handwritten digits as 8x8 PNG images, one folder per digit. Idempotent: existing datasets are left as "
        "they are (an interrupted seeding is completed). Needs the catalogue (seed_catalogue) but no user."
    )

    def handle(self, *args, **options) -> None:
        try:
            lines = demo_data_seed()
        except DemoDataUnavailable as error:
            raise CommandError(str(error)) from error
        for line in lines:
            self.stdout.write(line)
