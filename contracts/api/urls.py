"""Routes of the contracts app (each answers with and without a trailing slash)."""

from config.api.routers import OptionalSlashRouter
from contracts.api import views

router = OptionalSlashRouter()
router.register("domains", views.DomainViewSet, basename="domain")
# UFDL spells the resource both ways; both routes serve the same rows.
router.register("licences", views.LicenceViewSet, basename="licence")
router.register("licenses", views.LicenceViewSet, basename="license")
router.register("frameworks", views.FrameworkViewSet, basename="framework")
router.register("hardware", views.HardwareViewSet, basename="hardware")
router.register("cuda", views.CUDAVersionViewSet, basename="cuda-version")
router.register("docker", views.DockerImageViewSet, basename="docker-image")
router.register("pretrained-models", views.PretrainedModelViewSet, basename="pretrained-model")

urlpatterns = router.urls
