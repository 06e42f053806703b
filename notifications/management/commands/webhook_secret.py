"""``manage.py webhook_secret``: print the deployment's webhook signing secret, for receivers to verify with."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.senders import webhook_secret


class Command(BaseCommand):
    help = (
        "Print the secret webhooks without a `secret` of their own are signed with "
        "(NOTIFICATION_WEBHOOK_SECRET, or the key derived from SECRET_KEY when it is unset)."
    )

    def handle(self, *args, **options) -> None:
        if settings.NOTIFICATION_WEBHOOK_SECRET:
            self.stderr.write("from NOTIFICATION_WEBHOOK_SECRET:")
            self.stdout.write(settings.NOTIFICATION_WEBHOOK_SECRET)
        else:
            self.stderr.write("derived from SECRET_KEY (set NOTIFICATION_WEBHOOK_SECRET to choose one):")
            self.stdout.write(webhook_secret().decode())
