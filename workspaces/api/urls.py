"""Routes of the data layer (each answers with and without a trailing slash): teams, projects, the core
datasets and the five domain routes at UFDL's prefixes."""

from django.urls import include, path

from config.api.routers import OptionalSlashRouter
from workspaces.api import views

router = OptionalSlashRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("datasets", views.DatasetViewSet, basename="dataset")

DOMAIN_ROUTES = {
    "classify": views.ImageClassificationDatasetViewSet,
    "objdet": views.ObjectDetectionDatasetViewSet,
    "segments": views.ImageSegmentationDatasetViewSet,
    "spectra": views.SpectrumClassificationDatasetViewSet,
    "speech": views.SpeechDatasetViewSet,
}


def _domain_router(prefix: str, viewset) -> OptionalSlashRouter:
    domain_router = OptionalSlashRouter()
    domain_router.register("datasets", viewset, basename=f"{prefix}-dataset")
    return domain_router


urlpatterns = [
    *router.urls,
    *(path(f"{prefix}/", include(_domain_router(prefix, viewset).urls)) for prefix, viewset in DOMAIN_ROUTES.items()),
]
