"""Operator tools run beside the service (not part of it): a headless-Chromium driver, admin screenshots."""
