"""JWT endpoints (compat): obtain, refresh, verify. Bad credentials and bad tokens are 401."""

from rest_framework.permissions import AllowAny
from rest_framework_simplejwt import views as jwt_views


class ObtainTokenView(jwt_views.TokenObtainPairView):
    """Exchange ``{username, password}`` for ``{access, refresh}`` tokens."""

    permission_classes = [AllowAny]  # type: ignore[assignment]  # simplejwt's stubs type it as the empty tuple
    authentication_classes: list = []  # type: ignore[assignment]  # (the same)


class RefreshTokenView(jwt_views.TokenRefreshView):
    """Exchange ``{refresh}`` for a new ``{access}`` token."""

    permission_classes = [AllowAny]  # type: ignore[assignment]  # simplejwt's stubs type it as the empty tuple
    authentication_classes: list = []  # type: ignore[assignment]  # (the same)


class VerifyTokenView(jwt_views.TokenVerifyView):
    """``{token}`` → 200 when valid, 401 otherwise."""

    permission_classes = [AllowAny]  # type: ignore[assignment]  # simplejwt's stubs type it as the empty tuple
    authentication_classes: list = []  # type: ignore[assignment]  # (the same)
