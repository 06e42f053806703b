"""Who may put a dataset where: the rules a dataset action checks against the body it was given (the
target project of a create, a move or a copy)."""

from __future__ import annotations

from config.errors import InvalidRequest, PermissionDenied, Problem
from workspaces.models import Permission, Project, permission_at_least
from workspaces.selectors import is_admin, project_permission


def check_project_for_datasets(*, user, project: Project | None, path: str = "project") -> None:
    """Putting a dataset into ``project`` takes W or A in its team (admins: any active project). A project
    of a team the user is not in answers as if it did not exist; ``None`` (a personal dataset) is open
    to every user."""
    if project is None or user is None:
        return
    if project.deletion_time is not None or project.team.deletion_time is not None:
        raise InvalidRequest(
            problems=[Problem(path=path, code="project_deleted", message=f"project {project.pk} is deleted")]
        )
    if is_admin(user):
        return
    level = project_permission(user=user, project=project)
    if level is None:
        raise InvalidRequest(problems=[Problem(path=path, code="does_not_exist", message=f"no project {project.pk}")])
    if not permission_at_least(level, Permission.WRITE):
        raise PermissionDenied(
            f"Adding datasets to project {project} takes W or A in its team; you have {level}.",
            problems=[Problem(path=path, code="permission_denied", message=f"you have {level} in {project.team}")],
        )
