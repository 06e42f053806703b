"""The executor API, built-in executors, the job runner, Celery tasks and meta-job orchestration."""
