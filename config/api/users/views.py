"""``/v1/users``: admins manage accounts; everyone may read their own (by pk, or by username as UFDL
answers it: a one-element array)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filterspec import FilterFields
from config.api.users.serializers import UserSerializer
from config.api.viewsets import ResourceViewSet

User = get_user_model()


class UserViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ResourceViewSet):
    """User accounts. List, create, update and deactivate are for admins; retrieve is for the user
    themself and admins. ``/v1/users/{pk}`` answers the user; ``/v1/users/{username}`` answers a
    one-element array of them, as UFDL does (a username of digits only is found by name when no user
    has it as pk)."""

    serializer_class = UserSerializer
    admin_actions = frozenset({"list", "filter_list", "create", "create_compat", "update", "partial_update", "destroy"})
    lookup_value_regex = "[^/]+"
    filter_fields = FilterFields(
        User,
        [
            "pk",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
            "date_joined",
            "last_login",
            "groups.name",
        ],
    )
    query_filters = {"username": "username", "is_active": "is_active", "is_staff": "is_staff"}

    def get_queryset(self):
        users = User.objects.all().order_by("pk")
        if not self.request.user.is_staff:
            users = users.filter(pk=self.request.user.pk)
        return users

    def _lookup(self) -> tuple[Any, bool]:
        """The user the path names and whether it named them by username. ASCII digits name a pk first
        (``"³²".isdigit()`` is true too), then a username; anything else is a username."""
        lookup = self.kwargs[self.lookup_field]
        queryset = self.get_queryset()
        if lookup.isascii() and lookup.isdigit() and len(lookup) <= 18:
            user = queryset.filter(pk=int(lookup)).first()
            if user is not None:
                return user, False
        return get_object_or_404(queryset, username=lookup), True

    def get_object(self):
        user, _ = self._lookup()
        self.check_object_permissions(self.request, user)
        return user

    @extend_schema(
        responses={
            200: {
                "oneOf": [
                    {"$ref": "#/components/schemas/User"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/User"}, "minItems": 1, "maxItems": 1},
                ],
                "description": "by pk: the user; by username: a one-element array of them (as UFDL answers)",
            }
        }
    )
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        """A user by pk (the user), or by username (a one-element array, as UFDL answers it)."""
        user, by_name = self._lookup()
        self.check_object_permissions(request, user)
        data = self.get_serializer(user).data
        return Response([data] if by_name else data)

    def check_object_permissions(self, request, obj) -> None:
        super().check_object_permissions(request, obj)
        # Resetting a superuser's password would hand its powers to any staff member.
        changes = self.action in {"update", "partial_update", "destroy"}
        if changes and obj.is_superuser and not request.user.is_superuser:
            self.permission_denied(request, message="Only a superuser may change a superuser's account.")

    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create an account (admins); answers 200 with it, as UFDL's ``/v1/users/create`` does."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    def destroy(self, request, *args, **kwargs):
        """Deactivate the account (users are never deleted: their jobs and datasets keep a creator)."""
        user = self.get_object()
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        return Response(status=status.HTTP_204_NO_CONTENT)
