"""Permission classes shared by every resource ("admin" means ``is_staff``)."""

from rest_framework.permissions import BasePermission


class ActionPermissions(BasePermission):
    """Authenticated users for every action except the view's ``admin_actions`` (admins only) and
    ``denied_actions`` (nobody: e.g. templates are never created through ``create``)."""

    message = "Only administrators may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action in getattr(view, "denied_actions", ()):
            self.message = getattr(view, "denied_message", "This action is not available on this resource.")
            return False
        if action in getattr(view, "admin_actions", ()):
            return bool(user.is_staff)
        return True
