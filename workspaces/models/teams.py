"""Teams, memberships and projects: who may see and change which datasets, templates and jobs.

A team has members, each with one of UFDL's permission levels (R read, X execute, W write, A admin);
a project belongs to one team, and what a project holds (datasets, project-scoped templates, jobs) is
reached through the team's active memberships. All three are soft-deletable: a removed membership keeps
its row (with ``deletion_time``) as a record of who had access when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.softdelete import SoftDeleteModel


class Permission(models.TextChoices):
    """UFDL's membership levels, each including the ones before it (R < X < W < A)."""

    READ = "R", "R: read"
    EXECUTE = "X", "X: read, and run jobs on the team's data from a worker node"
    WRITE = "W", "W: read, and create and change projects and datasets"
    ADMIN = "A", "A: everything, including the team itself and its memberships"


PERMISSION_RANK = {Permission.READ: 1, Permission.EXECUTE: 2, Permission.WRITE: 3, Permission.ADMIN: 4}


def permission_at_least(level: str | None, needed: str) -> bool:
    """Whether a member at ``level`` (None: not a member) has at least ``needed``."""
    return level is not None and PERMISSION_RANK[Permission(level)] >= PERMISSION_RANK[Permission(needed)]


class Team(SoftDeleteModel):
    """A group of users that owns projects; its name is unique among active teams."""

    name = models.CharField(max_length=200)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creation_time = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="workspaces.Membership", through_fields=("team", "user"), related_name="teams"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(deletion_time__isnull=True), name="team_unique_active_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(SoftDeleteModel):
    """A user's membership of a team, at one permission level; at most one active per user and team."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    permissions = models.CharField(max_length=1, choices=Permission.choices, default=Permission.READ)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "team"], condition=Q(deletion_time__isnull=True), name="membership_unique_active"
            )
        ]
        indexes = [models.Index(fields=["user", "deletion_time"], name="membership_user_active")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.permissions})"


class Project(SoftDeleteModel):
    """A project of a team: it holds datasets, project-scoped templates and their jobs. Its name is unique
    among the team's active projects."""

    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="projects")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], condition=Q(deletion_time__isnull=True), name="project_unique_active_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
