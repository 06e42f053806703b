"""Create the first administrator: credentials from the environment, or generated and printed once."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create an admin account if none exists. Uses ADMIN_USERNAME / ADMIN_PASSWORD / ADMIN_EMAIL when set; "
        "otherwise generates a password and prints it (once: later runs only say the admin exists)."
    )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        username = os.environ.get("ADMIN_USERNAME") or "admin"
        password = os.environ.get("ADMIN_PASSWORD")
        email = os.environ.get("ADMIN_EMAIL") or f"{username}@localhost"
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if password:
                existing.set_password(password)
                existing.is_staff = existing.is_superuser = existing.is_active = True
                existing.save()
                self.stdout.write(f"admin {username!r}: password set from ADMIN_PASSWORD")
            else:
                self.stdout.write(f"admin {username!r} exists (its password was printed when it was created)")
            return
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS("=" * 60))
        self.stdout.write(self.style.SUCCESS(f"  admin created: username {username!r}"))
        if generated:
            self.stdout.write(self.style.SUCCESS(f"  password (shown once, keep it): {password}"))
        else:
            self.stdout.write(self.style.SUCCESS("  password: the value of ADMIN_PASSWORD"))
        self.stdout.write(self.style.SUCCESS("=" * 60))
