"""Routes of the type and contract listings (each answers with and without a trailing slash)."""

from config.api.routers import OptionalSlashRouter
from contracts.api.type_views import JobContractViewSet, JobTypeViewSet

router = OptionalSlashRouter()
router.register("job-types", JobTypeViewSet, basename="job-type")
router.register("job-contracts", JobContractViewSet, basename="job-contract")

urlpatterns = router.urls
