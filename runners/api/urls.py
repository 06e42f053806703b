"""``/v1/nodes`` (UFDL's job-launcher nodes) and ``/v1/workers`` (the Celery worker registry)."""

from config.api.routers import OptionalSlashRouter
from runners.api.nodes import NodeViewSet
from runners.api.workers import WorkerViewSet

router = OptionalSlashRouter()
router.register("nodes", NodeViewSet, basename="node")
router.register("workers", WorkerViewSet, basename="worker")

urlpatterns = router.urls
