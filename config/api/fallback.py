"""Django-level error views (outside DRF): unknown routes and crashes still answer the JSON envelope."""

from django.http import JsonResponse

from config.db_faults import current_database_fault_response


def _envelope(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, "errors": []}, status=status)


def bad_request(request, exception=None):
    return _envelope("Bad request.", "bad_request", 400)


def permission_denied(request, exception=None):
    return _envelope("You do not have permission to perform this action.", "permission_denied", 403)


def not_found(request, exception=None):
    return _envelope(f"No route matches {request.method} {request.path}.", "not_found", 404)


def server_error(request):
    # A database fault outside any view (a middleware saving the session) is a 503, not a crash.
    fault = current_database_fault_response()
    return fault or _envelope("Internal server error; the failure was logged.", "server_error", 500)
