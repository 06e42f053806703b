"""URL configuration: ``/v1`` API (every route with or without a trailing slash), admin, schema, health."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.api import auth_views, health
from config.api.routers import OptionalSlashRouter
from config.api.users.views import UserViewSet

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    re_path(r"^v1/auth/obtain/?$", auth_views.ObtainTokenView.as_view(), name="auth-obtain"),
    re_path(r"^v1/auth/refresh/?$", auth_views.RefreshTokenView.as_view(), name="auth-refresh"),
    re_path(r"^v1/auth/verify/?$", auth_views.VerifyTokenView.as_view(), name="auth-verify"),
    re_path(r"^v1/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^v1/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^v1/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^healthz/?$", health.HealthView.as_view(), name="healthz"),
    # The routes called most (templates, jobs: clients and job-launcher nodes) are tried first: Django
    # matches patterns in order, and each app's router adds dozens (about 0.1 ms per request for the last).
    path("v1/", include("jobtemplates.api.urls")),
    path("v1/", include(router.urls)),
    path("v1/", include("contracts.api.urls")),
    path("v1/", include("contracts.api.type_urls")),
    path("v1/", include("workspaces.api.urls")),
    path("v1/", include("runners.api.urls")),
    path("admin/", admin.site.urls),
    re_path(r"^$", health.RootView.as_view(), name="root"),
]

handler400 = "config.api.fallback.bad_request"
handler403 = "config.api.fallback.permission_denied"
handler404 = "config.api.fallback.not_found"
handler500 = "config.api.fallback.server_error"
