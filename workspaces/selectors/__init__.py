"""Reads of the data layer (visibility, membership levels, querysets with their joins declared)."""

from workspaces.selectors.datasets import (
    batched,
    dataset_can_change,
    dataset_file_get,
    dataset_files_named,
    dataset_list,
    dataset_visibility_filter,
    dataset_visible_to,
    datasets_visible,
)
from workspaces.selectors.teams import (
    active_memberships,
    is_admin,
    member_project_ids,
    member_team_ids,
    project_permission,
    project_visible_to,
    team_list,
    team_permission,
    team_visible_to,
    user_by_username,
)

__all__ = [
    "active_memberships",
    "dataset_can_change",
    "batched",
    "dataset_file_get",
    "dataset_files_named",
    "dataset_list",
    "dataset_visibility_filter",
    "dataset_visible_to",
    "datasets_visible",
    "is_admin",
    "member_project_ids",
    "member_team_ids",
    "project_permission",
    "project_visible_to",
    "team_list",
    "team_permission",
    "team_visible_to",
    "user_by_username",
]
