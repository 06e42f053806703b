"""Reads of teams, memberships and projects, and the membership questions every visibility rule asks.

Only active memberships of active teams count, and only active projects of those teams: a soft-deleted
team (or project) grants nothing until it is reinstated. The ``*_ids`` selectors are subqueries, so a
visibility filter built on them stays one SQL statement.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.db.models.expressions import RawSQL

from config.errors import InvalidRequest, Problem
from workspaces.models import Membership, Project, Team


def is_admin(user) -> bool:
    return bool(getattr(user, "is_staff", False))


def active_memberships() -> QuerySet[Membership]:
    """Memberships that grant access: active, in an active team."""
    return Membership.objects.filter(deletion_time__isnull=True, team__deletion_time__isnull=True)


def _member_teams_sql() -> str:
    membership, team = Membership._meta.db_table, Team._meta.db_table
    return (
        f'SELECT m."team_id" FROM "{membership}" m INNER JOIN "{team}" t ON t."id" = m."team_id" '
        f'WHERE m."user_id" = %s AND m."deletion_time" IS NULL AND t."deletion_time" IS NULL'
    )


def member_team_ids(user) -> RawSQL:
    """The pks of the active teams ``user`` is an active member of (a subquery, for ``__in``).

    Written as SQL: every visibility filter of every request builds it, and the ORM took ~2 ms of Python
    to build the nested querysets (template_visible_q's answer in a retrieve: 4.3 ms against 2.5 for an admin)."""
    return RawSQL(_member_teams_sql(), [user.pk])


def member_project_ids(user) -> RawSQL:
    """The pks of the active projects of those teams (a subquery, for ``__in``)."""
    project = Project._meta.db_table
    return RawSQL(
        f'SELECT p."id" FROM "{project}" p WHERE p."deletion_time" IS NULL AND p."team_id" IN ({_member_teams_sql()})',
        [user.pk],
    )


def team_permission(*, user, team: Team) -> str | None:
    """``user``'s level in ``team`` (R, X, W or A), or None when not an active member of an active team."""
    if user is None or not user.is_authenticated or team.deletion_time is not None:
        return None
    return (
        Membership.objects.filter(user_id=user.pk, team_id=team.pk, deletion_time__isnull=True)
        .values_list("permissions", flat=True)
        .first()
    )


def project_permission(*, user, project: Project) -> str | None:
    """``user``'s level in ``project``'s team, or None (not a member, or the project or team deleted)."""
    if user is None or not user.is_authenticated or project.deletion_time is not None:
        return None
    return (
        active_memberships()
        .filter(user_id=user.pk, team_id=project.team_id)
        .values_list("permissions", flat=True)
        .first()
    )


def team_list() -> QuerySet[Team]:
    """Teams with their active members (and their levels) loaded: two queries for any number of teams."""
    # django-stubs cannot infer Prefetch's lookup and queryset types from a soft-delete queryset.
    active: Any = Prefetch(
        "memberships",  # type: ignore[arg-type]
        queryset=Membership.objects.filter(deletion_time__isnull=True).select_related("user").order_by("pk"),  # type: ignore[arg-type]
        to_attr="active_memberships",  # type: ignore[arg-type]
    )
    return Team.objects.prefetch_related(active).order_by("pk")


def team_visible_to(user) -> QuerySet[Team]:
    """Teams ``user`` is an active member of (admins: all), soft-deleted ones included for admins."""
    teams = team_list()
    return teams if is_admin(user) else teams.filter(pk__in=member_team_ids(user))


def project_visible_to(user) -> QuerySet[Project]:
    """Projects of the teams ``user`` is an active member of (admins: all)."""
    projects = Project.objects.order_by("pk")
    return projects if is_admin(user) else projects.filter(pk__in=member_project_ids(user))


def user_by_username(username: str, *, path: str = "username"):
    """The active user called ``username``, or a 422 naming ``path``."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise InvalidRequest(
            f"No active user {username[:150]!r}.",
            problems=[Problem(path=path, code="does_not_exist", message=f"no active user {username[:150]!r}")],
        )
    return user
