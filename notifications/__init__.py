"""Notifications fired on job lifecycle transitions: kinds, defaults and overrides, delivery."""
