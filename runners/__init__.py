"""Who runs jobs: the registry of Celery workers and UFDL job-launcher nodes, and routing rules."""
