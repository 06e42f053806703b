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


class ObjectRulePermissions(ActionPermissions):
    """``ActionPermissions`` plus a rule per action on the object itself: ``view.object_rules`` maps an
    action to ``(rule(user, obj) -> bool, message)``; actions without a rule need only see the object
    (which the view's queryset decides: what a user may not see answers 404)."""

    def has_object_permission(self, request, view, obj) -> bool:
        rule = getattr(view, "object_rules", {}).get(getattr(view, "action", None))
        if rule is None:
            return True
        check, message = rule
        if check(request.user, obj):
            return True
        self.message = message
        return False
