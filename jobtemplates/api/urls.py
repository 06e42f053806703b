"""Routes of the jobtemplates app (every route with and without a trailing slash)."""

from config.api.routers import OptionalSlashRouter
from jobtemplates.api.jobs import JobOutputViewSet, JobViewSet
from jobtemplates.api.views import JobTemplateViewSet

router = OptionalSlashRouter()
router.register("job-templates", JobTemplateViewSet, basename="job-template")
router.register("jobs", JobViewSet, basename="job")
router.register("job-outputs", JobOutputViewSet, basename="job-output")

urlpatterns = router.urls
