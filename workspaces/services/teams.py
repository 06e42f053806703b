"""Team and project actions: create, rename, soft delete (taking what they hold along), reinstate, hard
delete, and changes of membership.

A soft delete stamps the team (or project) and everything active it holds (a team's projects, their
datasets) with one deletion time; reinstating it brings back exactly what that delete took, so a delete
and a reinstate lose nothing. Memberships are left alone (a deleted team grants nothing anyway), so a
reinstated team has its members back.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, InvalidRequest, PermissionDenied, Problem
from config.softdelete import hard_delete
from workspaces.models import Dataset, Membership, Permission, Project, Team
from workspaces.selectors import is_admin, project_permission, team_permission, user_by_username


class MembershipMethod:
    ADD = "add"
    REMOVE = "remove"
    UPDATE = "update"
    ALL = (ADD, REMOVE, UPDATE)


def _duplicate(what: str, name: str, path: str = "name") -> Conflict:
    return Conflict(
        f"An active {what} named {name!r} already exists.",
        code="duplicate",
        problems=[Problem(path=path, code="duplicate", message=f"{what} {name!r} exists")],
    )


def _deleted(instance, what: str) -> Conflict:
    return Conflict(
        f"The {what} {instance} is deleted; reinstate it first.",
        code=f"{what}_deleted",
        problems=[Problem(path="", code=f"{what}_deleted", message=f"{what} {instance} is soft-deleted")],
    )


# --- teams ---------------------------------------------------------------------------------------------


def team_create(*, name: str, creator) -> Team:
    """A new team (its creator is not made a member, as in UFDL: admins create teams and add members)."""
    try:
        with transaction.atomic():
            return Team.objects.create(name=name, creator=creator)
    except IntegrityError:
        raise _duplicate("team", name) from None


def team_update(*, team: Team, name: str) -> Team:
    if team.deletion_time is not None:
        raise _deleted(team, "team")
    try:
        with transaction.atomic():
            team.name = name
            team.save(update_fields=["name"])
    except IntegrityError:
        raise _duplicate("team", name) from None
    return team


@transaction.atomic
def team_soft_delete(*, team: Team) -> Team:
    """Hide the team, its active projects and their active datasets (one deletion time for all)."""
    if team.deletion_time is None:
        now = timezone.now()
        projects = Project.objects.filter(team=team, deletion_time__isnull=True)
        Dataset.objects.filter(project__in=projects.values("pk"), deletion_time__isnull=True).update(deletion_time=now)
        projects.update(deletion_time=now)
        Team.objects.filter(pk=team.pk).update(deletion_time=now)
        team.deletion_time = now
    return team


def team_reinstate(*, team: Team) -> Team:
    """Undo a soft delete, with the projects and datasets it took along; 409 if the name was taken since."""
    if team.deletion_time is None:
        return team
    stamp = team.deletion_time
    try:
        with transaction.atomic():
            Team.objects.filter(pk=team.pk).update(deletion_time=None)
            projects = Project.objects.filter(team=team, deletion_time=stamp)
            Dataset.objects.filter(project__in=projects.values("pk"), deletion_time=stamp).update(deletion_time=None)
            projects.update(deletion_time=None)
    except IntegrityError:
        raise _duplicate("team", team.name) from None
    team.deletion_time = None
    return team


def team_hard_delete(*, team: Team) -> None:
    """Delete the team and its memberships for good; 409 (nothing removed) while it has projects."""
    hard_delete(instance=team)


# --- memberships -------------------------------------------------------------------------------------------


def _last_admin(team: Team, membership: Membership) -> bool:
    others = Membership.objects.filter(team=team, deletion_time__isnull=True, permissions=Permission.ADMIN)
    return membership.permissions == Permission.ADMIN and not others.exclude(pk=membership.pk).exists()


@transaction.atomic
def membership_modify(*, team: Team, method: str, username: str, permissions: str, modifier) -> Membership:
    """Add, remove or change ``username``'s membership of ``team``; the membership (a removed one with its
    deletion time) is returned. Adding a member twice is a 409; removing or changing a non-member a 422.
    A team administrator cannot remove or demote the team's last administrator (themselves, usually):
    the team would be left to the site's admins."""
    team = Team.objects.select_for_update().get(pk=team.pk)  # one change of a team's members at a time
    if team.deletion_time is not None:
        raise _deleted(team, "team")
    user = user_by_username(username)
    current = Membership.objects.filter(team=team, user=user, deletion_time__isnull=True).first()
    if method == MembershipMethod.ADD:
        if current is not None:
            raise Conflict(
                f"{user.username} is already a member of {team} ({current.permissions}); update the membership.",
                code="already_a_member",
                problems=[Problem(path="username", code="already_a_member", message=f"already {current.permissions}")],
            )
        return Membership.objects.create(team=team, user=user, permissions=permissions, creator=modifier)
    if current is None:
        raise InvalidRequest(
            f"{user.username} is not a member of {team}.",
            problems=[Problem(path="username", code="not_a_member", message=f"not a member of {team}")],
        )
    losing_admin = method == MembershipMethod.REMOVE or permissions != Permission.ADMIN
    if losing_admin and not is_admin(modifier) and _last_admin(team, current):
        raise Conflict(
            f"{user.username} is the last administrator (A) of {team}; make another member A first.",
            code="last_administrator",
            problems=[Problem(path="username", code="last_administrator", message="the team's last A member")],
        )
    if method == MembershipMethod.REMOVE:
        current.deletion_time = timezone.now()
        current.save(update_fields=["deletion_time"])
    else:
        current.permissions = permissions
        current.save(update_fields=["permissions"])
    return current


def membership_permissions(*, team: Team, username: str) -> str:
    """The level of ``username`` in ``team``; 422 when they are not an active member."""
    user = user_by_username(username)
    level = team_permission(user=user, team=team)
    if level is None:
        raise InvalidRequest(
            f"{user.username} is not a current member of {team}.",
            problems=[Problem(path="username", code="not_a_member", message=f"not a member of {team}")],
        )
    return level


# --- projects ------------------------------------------------------------------------------------------


def _check_team_for_projects(*, user, team: Team, path: str = "team") -> None:
    """Creating a project in ``team`` (or moving one there) takes W or A in it (admins: any team)."""
    if team.deletion_time is not None:
        raise InvalidRequest(problems=[Problem(path=path, code="team_deleted", message=f"team {team} is deleted")])
    if is_admin(user):
        return
    level = team_permission(user=user, team=team)
    if level is None:  # as if absent: non-members do not learn which teams exist
        raise InvalidRequest(problems=[Problem(path=path, code="does_not_exist", message=f"no team {team.pk}")])
    if level not in (Permission.WRITE, Permission.ADMIN):
        raise PermissionDenied(
            f"Creating or moving projects in {team} takes W or A; you have {level}.",
            problems=[Problem(path=path, code="permission_denied", message=f"you have {level} in {team}")],
        )


def project_create(*, name: str, team: Team, creator) -> Project:
    _check_team_for_projects(user=creator, team=team)
    try:
        with transaction.atomic():
            return Project.objects.create(name=name, team=team, creator=creator)
    except IntegrityError:
        raise _duplicate("project", f"{team}/{name}") from None


def project_update(*, project: Project, user, name: str | None = None, team: Team | None = None) -> Project:
    if project.deletion_time is not None:
        raise _deleted(project, "project")
    changes = []
    if team is not None and team.pk != project.team_id:
        _check_team_for_projects(user=user, team=team)
        project.team = team
        changes.append("team")
    if name is not None and name != project.name:
        project.name = name
        changes.append("name")
    try:
        with transaction.atomic():
            if changes:
                project.save(update_fields=changes)
    except IntegrityError:
        raise _duplicate("project", f"{project.team}/{project.name}") from None
    return project


@transaction.atomic
def project_soft_delete(*, project: Project) -> Project:
    """Hide the project and its active datasets (one deletion time for both)."""
    if project.deletion_time is None:
        now = timezone.now()
        Dataset.objects.filter(project=project, deletion_time__isnull=True).update(deletion_time=now)
        Project.objects.filter(pk=project.pk).update(deletion_time=now)
        project.deletion_time = now
    return project


def project_reinstate(*, project: Project) -> Project:
    """Undo a soft delete, with the datasets it took along; 409 while its team is deleted or if an
    active project of the team has taken its name since."""
    if project.deletion_time is None:
        return project
    if project.team.deletion_time is not None:
        raise Conflict(
            f"The team {project.team} of {project} is deleted; reinstate the team.",
            code="team_deleted",
            problems=[Problem(path="team", code="team_deleted", message=f"team {project.team} is soft-deleted")],
        )
    stamp = project.deletion_time
    try:
        with transaction.atomic():
            Project.objects.filter(pk=project.pk).update(deletion_time=None)
            Dataset.objects.filter(project=project, deletion_time=stamp).update(deletion_time=None)
    except IntegrityError:
        raise _duplicate("project", f"{project.team}/{project.name}") from None
    project.deletion_time = None
    return project


def project_hard_delete(*, project: Project) -> None:
    """Delete the project for good; 409 (nothing removed) while datasets, templates or jobs are in it."""
    hard_delete(instance=project)


def project_can_change(*, user, project: Project) -> bool:
    """Whether ``user`` may rename, move or delete ``project`` (W or A in its team; admins)."""
    if is_admin(user):
        return True
    return project_permission(user=user, project=project) in (Permission.WRITE, Permission.ADMIN)
