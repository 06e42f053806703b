"""``/v1/teams`` and ``/v1/projects``: UFDL's teams (with their memberships) and projects.

Who may do what follows UFDL's membership rules, with its holes closed: a user sees the teams they
are an active member of and those teams' projects (others answer 404); team changes and membership
changes take A in the team; project changes take W or A (in the target team too, when a project moves);
creating teams, deleting for good and reinstating are for administrators, who may do everything.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.permissions import ObjectRulePermissions
from config.api.viewsets import ResourceViewSet, SoftDeleteMixin
from contracts.api.views.common import parse_input
from workspaces import filters, selectors
from workspaces.api.serializers import (
    MembershipChangeSerializer,
    MembershipSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
    TeamSerializer,
    TeamWriteSerializer,
)
from workspaces.models import Permission, Project, Team
from workspaces.services import teams as services


def _team_admin(user, team: Team) -> bool:
    return selectors.is_admin(user) or selectors.team_permission(user=user, team=team) == Permission.ADMIN


def _project_writer(user, project: Project) -> bool:
    return services.project_can_change(user=user, project=project)


TEAM_ADMIN = (_team_admin, "This takes A (admin) in the team.")
PROJECT_WRITER = (_project_writer, "This takes W or A in the project's team.")


class TeamViewSet(SoftDeleteMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    """Teams. Members see their teams; A members rename and delete them and manage their memberships
    (``PATCH {pk}/memberships``); administrators create teams, delete them for good and reinstate them.
    Deleting a team hides its projects and their datasets too, and reinstating it brings them back."""

    serializer_class = TeamSerializer
    permission_classes = [ObjectRulePermissions]
    admin_actions = frozenset({"create", "create_compat", "hard", "reinstate"})
    object_rules = {
        "update": TEAM_ADMIN,
        "partial_update": TEAM_ADMIN,
        "destroy": TEAM_ADMIN,
        "memberships": TEAM_ADMIN,
    }
    lookup_value_regex = r"\d+"
    filter_fields = filters.TEAM_FILTER_FIELDS
    query_filters = {"name": "name"}

    def get_queryset(self):
        return selectors.team_visible_to(self.request.user)

    def _output(self, team: Team, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data, status=status_code)

    def _create(self, request: Request) -> Team:
        body = parse_input(TeamWriteSerializer, request.data)
        return services.team_create(name=body.validated_data["name"], creator=request.user)

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create a team (administrators); its creator is not made a member."""
        return self._output(self._create(request), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=TeamWriteSerializer, responses={200: TeamSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create a team (administrators; UFDL's route, answering 200 with the team)."""
        return self._output(self._create(request))

    @extend_schema(request=TeamWriteSerializer, responses={200: TeamSerializer})
    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        """Rename a team (A in it); 409 if an active team has the name."""
        team = self.get_object()
        body = parse_input(TeamWriteSerializer, request.data, partial=partial)
        if "name" in body.validated_data:
            team = services.team_update(team=team, name=body.validated_data["name"])
        return self._output(team)

    @extend_schema(request=TeamWriteSerializer, responses={200: TeamSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Rename a team (A in it)."""
        return self.update(request, *args, partial=True, **kwargs)

    def perform_soft_delete(self, instance: Team) -> None:
        services.team_soft_delete(team=instance)

    def perform_hard_delete(self, instance: Team) -> None:
        services.team_hard_delete(team=instance)

    def perform_reinstate(self, instance: Team) -> Team:
        return services.team_reinstate(team=instance)

    @extend_schema(request=MembershipChangeSerializer, responses={200: MembershipSerializer})
    @action(detail=True, methods=["patch"], url_path="memberships", url_name="memberships")
    def memberships(self, request: Request, pk=None) -> Response:
        """Add, remove or change a member (A in the team): UFDL's ``{"method": "add"|"remove"|"update",
        "username", "permissions"}`` (permissions R, X, W or A; R when left out). Answers the membership;
        adding a member twice is a 409, removing or changing a non-member a 422, and the last A member
        cannot remove or demote themselves (409)."""
        team = self.get_object()
        body = parse_input(MembershipChangeSerializer, request.data).validated_data
        membership = services.membership_modify(
            team=team,
            method=body["method"],
            username=body["username"],
            permissions=body["permissions"],
            modifier=request.user,
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(responses={200: OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path=r"permissions/(?P<username>[^/]+)", url_name="permissions")
    def permissions_for_user(self, request: Request, pk=None, username: str = "") -> Response:
        """A member's level in the team as a bare string (``"W"``): for A members and administrators, and
        (ours) for any member asking about themselves."""
        team = self.get_object()
        if username != request.user.username and not _team_admin(request.user, team):
            self.permission_denied(request, message="Asking about another member takes A (admin) in the team.")
        return Response(services.membership_permissions(team=team, username=username))


class ProjectViewSet(SoftDeleteMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    """Projects of teams. Members of a team see its projects; W and A members create, rename, move and
    delete them (moving one takes W or A in the new team too); deleting one hides its datasets too, and
    reinstating it (administrators) brings them back."""

    serializer_class = ProjectSerializer
    permission_classes = [ObjectRulePermissions]
    admin_actions = frozenset({"hard", "reinstate"})
    object_rules = {"update": PROJECT_WRITER, "partial_update": PROJECT_WRITER, "destroy": PROJECT_WRITER}
    lookup_value_regex = r"\d+"
    filter_fields = filters.PROJECT_FILTER_FIELDS
    query_filters = {"name": "name", "team": "team"}

    def get_queryset(self):
        return selectors.project_visible_to(self.request.user)

    def _output(self, project: Project, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data, status=status_code)

    def _create(self, request: Request) -> Project:
        body = parse_input(ProjectWriteSerializer, request.data).validated_data
        return services.project_create(name=body["name"], team=body["team"], creator=request.user)

    @extend_schema(request=ProjectWriteSerializer, responses={201: ProjectSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create a project in a team (W or A in it)."""
        return self._output(self._create(request), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectWriteSerializer, responses={200: ProjectSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create a project in a team (W or A in it; UFDL's route, answering 200 with the project)."""
        return self._output(self._create(request))

    @extend_schema(request=ProjectWriteSerializer, responses={200: ProjectSerializer})
    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        """Rename a project or move it to another team (W or A in both); 409 if the name is taken there."""
        project = self.get_object()
        body = parse_input(ProjectWriteSerializer, request.data, partial=partial).validated_data
        project = services.project_update(
            project=project, user=request.user, name=body.get("name"), team=body.get("team")
        )
        return self._output(project)

    @extend_schema(request=ProjectWriteSerializer, responses={200: ProjectSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Rename or move a project (W or A)."""
        return self.update(request, *args, partial=True, **kwargs)

    def perform_soft_delete(self, instance: Project) -> None:
        services.project_soft_delete(project=instance)

    def perform_hard_delete(self, instance: Project) -> None:
        services.project_hard_delete(project=instance)

    def perform_reinstate(self, instance: Project) -> Project:
        return services.project_reinstate(project=instance)
