"""Settings, read from the environment with embedded defaults that need no server."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    """The environment variable ``name`` or ``default`` when unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """A boolean environment variable: 1/true/yes/on (any case) are true."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Everything the embedded mode writes (SQLite file, broker folder, media) lives under var/.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# SECRET_KEY signs tokens and sessions (and derives the default webhook key): production sets it, the
# same in every process. Without it, an installation keeps its own random key in VAR_DIR/secret_key
# (made on first start), so the embedded mode never runs on a key anyone else knows. The keys this
# project's files once showed as placeholders are refused unless DEBUG is on.
DEVELOPMENT_SECRET_KEYS = frozenset({"django-insecure-development-only-key-change-me", "change-me-in-production"})


def _installation_secret_key(path: Path) -> str:
    import secrets

    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii") as file:
                file.write(key + "\n")
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text(encoding="ascii").strip()
        return key


SECRET_KEY = os.environ.get("SECRET_KEY") or _installation_secret_key(VAR_DIR / "secret_key")
if SECRET_KEY in DEVELOPMENT_SECRET_KEYS and not DEBUG:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is a published development key and DEBUG is off: set SECRET_KEY to a secret of your own "
        '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))"), the same for every process.'
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS (production, behind a TLS-terminating proxy) ---------------------------------------------
# SECURE_HTTPS=true turns on every setting below at once (each may still be set on its own): cookies
# only over HTTPS, HTTP redirected to HTTPS, HSTS for a year, and the proxy's X-Forwarded-Proto trusted
# (set SECURE_PROXY_SSL_HEADER=false when nothing in front of the service sets it).
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
# Health checks (compose, load balancers) ask over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", SECURE_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as local static files: the docs work offline
    "channels",
    "config.apps.ConfigConfig",
    "contracts.apps.ContractsConfig",
    "workspaces.apps.WorkspacesConfig",
    "runners.apps.RunnersConfig",
    "notifications.apps.NotificationsConfig",
    "jobtemplates.apps.JobTemplatesConfig",
    "executors.apps.ExecutorsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # URL length, NUL characters in the path and query, the body's size: before anything reads them.
    "config.http_limits.middleware.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A refused, stalled or timed-out database: 503 with the envelope from plain Django views too.
    "config.db_faults.DatabaseFaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, sync: the view's work stops when its client goes or REQUEST_TIMEOUT_SECONDS pass
    # (config/interrupts.py). Being sync here also runs the middleware above in one thread under ASGI.
    "config.interrupts.RequestWorkMiddleware",
]

# --- request interruption ---
# A request still running after this long is stopped (its statement cancelled, its transaction rolled
# back) and answered 503; 0: no limit. A request whose client disconnects is stopped at once (ASGI).
REQUEST_TIMEOUT_SECONDS = env_float("REQUEST_TIMEOUT_SECONDS", 120.0)

ROOT_URLCONF = "config.urls"
# Every route answers with and without a trailing slash; never redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- database -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Persistent connections leak under ASGI (each request may run on another thread), so the default is a
# connection per request; gunicorn's threads are a fixed pool, so config/gunicorn_conf.py keeps them
# (DB_CONN_MAX_AGE 600 in its processes: one connection per thread, SQLite's too). Celery workers keep
# theirs across tasks: WORKER_DB_CONN_MAX_AGE (Celery block below).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: wait for locks instead of failing, let readers
    # run beside the writer (WAL), and take the write lock at BEGIN so transactions never deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so that worker processes started by end-to-end tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database faults and idempotency ---
# A database that refuses or stalls answers 503 (config/db_faults.py) instead of hanging: PostgreSQL
# connections give up after DB_CONNECT_TIMEOUT_SECONDS (libpq counts whole seconds, at least 2), and
# statements after DB_STATEMENT_TIMEOUT_MS (0: no limit) in the web server and workers alike (a worker
# running a long executor holds no statement); `manage.py migrate` runs without a statement timeout.
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 3)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000)
DB_RETRY_AFTER_SECONDS = env_int("DB_RETRY_AFTER_SECONDS", 5)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT_SECONDS)
    if DB_STATEMENT_TIMEOUT_MS:
        _statement_timeout = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        _db_options["options"] = f"{_statement_timeout} {_db_options.get('options', '')}".strip()
    # PostgreSQL's JIT compiles a query its planner thinks costly (the live-nodes query, DISTINCT over
    # permission joins, is estimated so before its tables have statistics): ~29 ms instead of ~2 ms, for
    # queries that read a few rows. None of ours scans enough to gain from it; DB_JIT=true turns it back on.
    if not env_bool("DB_JIT", False):
        _db_options["options"] = f"-c jit=off {_db_options.get('options', '')}".strip()
# create-job's Idempotency-Key: the same key (per user) answers the same job for this long.
IDEMPOTENCY_KEY_TTL_SECONDS = env_int("IDEMPOTENCY_KEY_TTL_SECONDS", 24 * 60 * 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Dataset archives and job outputs can be large: stream uploads to disk past 2.5 MB, cap a request.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATASET_FILE_MAX_BYTES = env_int("DATASET_FILE_MAX_BYTES", 2 * 1024**3)
# files-multi: how many files one archive or multipart upload may add.
DATASET_ARCHIVE_MAX_FILES = env_int("DATASET_ARCHIVE_MAX_FILES", 100_000)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 1000)

# --- REST framework, auth and OpenAPI -------------------------------------------------------------
REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes DRF answer 401 (not 403) to unauthenticated calls.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.CachedUserJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.StrictJSONParser",
        "config.api.parsers.FormParser",
        "config.api.parsers.MultiPartParser",
    ],
    # orjson, writing what DRF's JSONRenderer writes (config.api.renderers); the browsable API stays.
    "DEFAULT_RENDERER_CLASSES": [
        "config.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "EXCEPTION_HANDLER": "config.api.exception_handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_LIFETIME_SECONDS", 5 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_LIFETIME_SECONDS", 8 * 60 * 60)),
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Job-template service",
    "DESCRIPTION": (
        "Job templates, typed contracts and the jobs made from them (UFDL-compatible `/v1` API). "
        "Obtain a token at `/v1/auth/obtain` and send it as `Authorization: Bearer <access>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["config.api.schema.strip_trailing_slashes"],
    # /v1/docs and /v1/redoc load their scripts from this server (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # "Authorize" once with a bearer token (from /v1/auth/obtain); it is kept across reloads of the page.
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": True},
}

# --- Celery ---------------------------------------------------------------------------------------
# Default: our atomic filesystem transport under var/ (no server). Production: redis://…
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"fsq://{(VAR_DIR / 'broker').as_posix()}")
CELERY_BROKER_POLLING_INTERVAL = env_float("CELERY_BROKER_POLLING_INTERVAL", 0.05)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith(("fsq:", "filesystem:")):
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = CELERY_BROKER_POLLING_INTERVAL
elif CELERY_BROKER_URL.startswith(("redis:", "rediss:")):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# PostgreSQL (or SQLite) holds all state: no result backend.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Worker policy for short jobs, chosen by bench/jobs.py (section b; figures in bench/README.md): a task
# is acknowledged after it ran (late acks; lost with its worker, SIGKILL included, it is delivered again,
# and the job's claim makes the second delivery harmless), and each pool process reserves one task at a
# time. Reserving 4 measured no better (400 no-ops through 2 single-process workers, two pairs of runs on
# a loaded machine: 26 → 17 % and 29 → 22 % of raw Celery's rate, which had the same prefetch): a job's
# own bookkeeping, not the broker hop, bounds the rate, while every reserved task waits behind a long job
# on a busy worker, and on Redis one reserved by a killed worker comes back only after
# CELERY_VISIBILITY_TIMEOUT. The pool stays prefork
# (a job past its cancellation grace is ended by killing its process), `--concurrency` its size
# (Celery's default: the CPU count).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_ALWAYS_EAGER = False
# Workers keep their database connection from task to task: a new PostgreSQL connection per task cost
# 11-20 ms a job, and 8-13 % of bench/jobs.py's throughput (b). Celery's Django fixup closes every
# connection around every task unless CELERY_DB_REUSE_MAX is set, and then closes them only every that
# many tasks, unchecked; so it is set, and the worker itself (executors/worker_signals.py) gives its
# connections WORKER_DB_CONN_MAX_AGE seconds (default: DB_CONN_MAX_AGE when set, else 600; 0 closes them
# after every task) and runs Django's close_old_connections before and after each task: a connection past
# its age, or broken by an error, is closed, and CONN_HEALTH_CHECKS (PostgreSQL) tests a kept one before
# its first use in a task, so a restarted server or a backend killed while idle costs one reconnect, not a
# failed job.
WORKER_DB_CONN_MAX_AGE = env_int("WORKER_DB_CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 600))
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# One queue for jobs and maintenance; several deployments (or test runs) can share a broker apart.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")

# --- executors ------------------------------------------------------------------------------------
# Workers import executor classes only from these module prefixes (a template naming another module
# imports with a warning, and its jobs error with a message saying so).
EXECUTOR_ALLOWED_MODULES = env_list("EXECUTOR_ALLOWED_MODULES", ["executors.builtin"])
# Who runs what: executor module prefix → runner. "celery" (our workers: EXECUTOR_ALLOWED_MODULES),
# "node" (UFDL job-launcher nodes: EXECUTOR_NODE_MODULES), or "none". The longest matching prefix
# wins; a class no prefix matches has no runner. A job of a node-run template is never sent to
# Celery: it waits for a node to acquire it.
EXECUTOR_NODE_MODULES = env_list("EXECUTOR_NODE_MODULES", ["ufdl.joblauncher"])
# EXECUTOR_RUNNERS adds explicit "prefix=runner" pairs on top (e.g. "ufdl.joblauncher.objdet=none").
EXECUTOR_RUNNERS: dict[str, str] = dict(item.split("=", 1) for item in env_list("EXECUTOR_RUNNERS", []) if "=" in item)
# Routing: a template needing a GPU (min_hardware_generation) and naming no queue goes to this queue.
CELERY_GPU_QUEUE = env_str("CELERY_GPU_QUEUE", "gpu")
# The registry: workers report themselves every WORKER_HEARTBEAT_SECONDS; a worker (or node) not
# heard from for WORKER_STALE_SECONDS (NODE_STALE_SECONDS) counts as gone. A node-held job whose node
# has been silent for NODE_STALE_SECONDS is released by the reaper, to be acquired again.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 15.0)
WORKER_STALE_SECONDS = env_float("WORKER_STALE_SECONDS", 60.0)
NODE_STALE_SECONDS = env_float("NODE_STALE_SECONDS", 300.0)
# What template answers show as ``runnable`` is judged against a snapshot of the fleet kept this long per
# process (0: loaded for every request); saves of workers, nodes and hardware in the process itself drop
# it at once; other changes (a heartbeat elsewhere, a node owner's permissions) show within it.
FLEET_SNAPSHOT_SECONDS = env_float("FLEET_SNAPSHOT_SECONDS", 2.0)
# A bearer token's user row is kept this long per process (0: read for every request); saving or deleting
# a user in the process drops it at once; a change saved by another process (is_active, is_staff, the
# password) holds within it. Memberships are never kept (config/api/authentication.py).
AUTH_USER_CACHE_SECONDS = env_float("AUTH_USER_CACHE_SECONDS", 3.0)
# How often (at most) requests carrying Node-Id refresh the node's last_seen and its job's heartbeat.
NODE_TOUCH_SECONDS = env_float("NODE_TOUCH_SECONDS", 5.0)
# The largest job output a node may upload in one request.
JOB_OUTPUT_MAX_BYTES = env_int("JOB_OUTPUT_MAX_BYTES", 2 * 1024 * 1024 * 1024)
# The largest progress data (as JSON) a node may report with its progress; it is kept on the job row.
JOB_PROGRESS_DATA_MAX_BYTES = env_int("JOB_PROGRESS_DATA_MAX_BYTES", 64 * 1024)
# Checks an executor class at template import (keeps jobtemplates from importing the worker side).
EXECUTOR_INSPECTOR = "executors.loading.inspect_executor_class"
# The runner: heartbeat and progress writes of running jobs, cancellation grace, time limits.
JOB_HEARTBEAT_SECONDS = env_float("JOB_HEARTBEAT_SECONDS", 5.0)
JOB_PROGRESS_NOTIFY_SECONDS = env_float("JOB_PROGRESS_NOTIFY_SECONDS", 10.0)
JOB_CANCEL_GRACE_SECONDS = env_float("JOB_CANCEL_GRACE_SECONDS", 30.0)
JOB_SOFT_TIME_LIMIT_SECONDS = env_int("JOB_SOFT_TIME_LIMIT_SECONDS", 6 * 60 * 60)
JOB_SCRATCH_DIR = env_str("JOB_SCRATCH_DIR", "") or None
# The reaper: a running job whose heartbeat is older than this is presumed orphaned; it runs again up
# to JOB_MAX_ATTEMPTS claims, then errors. Created jobs are re-sent after JOB_RESEND_AFTER_SECONDS.
JOB_REAPER_INTERVAL_SECONDS = env_float("JOB_REAPER_INTERVAL_SECONDS", 30.0)
JOB_HEARTBEAT_STALE_SECONDS = env_float("JOB_HEARTBEAT_STALE_SECONDS", 60.0)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_RESEND_AFTER_SECONDS = env_float("JOB_RESEND_AFTER_SECONDS", 300.0)
CELERY_BEAT_SCHEDULE = {
    "reap-jobs": {"task": "executors.reap_jobs", "schedule": JOB_REAPER_INTERVAL_SECONDS},
}
# Schemas of PK/Name/JobOutput types list the caller's visible rows up to this many.
TYPE_ENUM_CAP = env_int("TYPE_ENUM_CAP", 100)

# --- domain limits ---
# What one request may ask of the domain code (issue 12): filter expressions (every sub-expression
# counts) and order_by entries of one ``POST …/list``; type strings' length and nesting; free text.
# SQLite refuses a WHERE nested past 1000 levels (its ANDs nest one per expression): keep it below.
FILTER_MAX_EXPRESSIONS = env_int("FILTER_MAX_EXPRESSIONS", 500)
FILTER_MAX_ORDER_BY = env_int("FILTER_MAX_ORDER_BY", 16)
FILTER_MAX_TO_MANY_EXPRESSIONS = env_int("FILTER_MAX_TO_MANY_EXPRESSIONS", 20)
# The most rows one opt-in window of an array list may ask for (``POST …/list?limit=``, matching).
API_LIST_LIMIT_MAX = env_int("API_LIST_LIMIT_MAX", 1000)
TYPE_STRING_MAX_CHARS = env_int("TYPE_STRING_MAX_CHARS", 4096)
TYPE_MAX_DEPTH = env_int("TYPE_MAX_DEPTH", 32)
TEXT_FIELD_MAX_CHARS = env_int("TEXT_FIELD_MAX_CHARS", 10_000)

# --- request limits ---
# Bounded cost per request (config/http_limits): JSON and form bodies past REQUEST_JSON_MAX_BYTES and any
# body past REQUEST_BODY_MAX_BYTES are a 413 (raw uploads keep their own caps below that: DATASET_FILE_MAX_BYTES,
# JOB_OUTPUT_MAX_BYTES); a URL (path and query) past REQUEST_MAX_URL_BYTES a 414; JSON nested deeper than
# REQUEST_JSON_MAX_DEPTH a 400. The largest real template import is ~11 KB and nests 7 levels.
REQUEST_JSON_MAX_BYTES = env_int("REQUEST_JSON_MAX_BYTES", 4 * 1024 * 1024)
REQUEST_JSON_MAX_DEPTH = env_int("REQUEST_JSON_MAX_DEPTH", 64)
REQUEST_MAX_URL_BYTES = env_int("REQUEST_MAX_URL_BYTES", 8192)
# The largest upload (a dataset file or archive, a job output) plus room for multipart framing and fields.
REQUEST_BODY_MAX_BYTES = env_int(
    "REQUEST_BODY_MAX_BYTES",
    max(DATASET_FILE_MAX_BYTES, JOB_OUTPUT_MAX_BYTES) + DATA_UPLOAD_MAX_MEMORY_SIZE + 2**20,
)

# --- Channels -------------------------------------------------------------------------------------
CHANNEL_REDIS_URL = os.environ.get("CHANNEL_REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis:", "rediss:")) else ""
)
if CHANNEL_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [CHANNEL_REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- email ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "jobs@localhost")

# --- logging --------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- notifications --------------------------------------------------------------------------------
# Defaults per job kind, each shaped like an override's "actions" ({"on_start": [notification, …]}):
# {"workable": actions, "meta": actions}, as a dict here or JSON in the environment; a kind left out keeps
# UFDL's defaults (notifications/defaults.py). `manage.py check` reports every problem with its path.
NOTIFICATION_DEFAULTS: dict | str | None = os.environ.get("NOTIFICATION_DEFAULTS") or None
# Default emails (the defaults' email notifications, UFDL's "Job #{pk} started" to the job's creator): "auto"
# sends them when an email backend that delivers is configured (EMAIL_BACKEND other than Django's console or
# dummy backend, which reach nobody); "true" always, "false" never. A default email with no recipient (its
# creator has no address) is never sent. Either way it is left out, not recorded; a job's own override's
# emails are not defaults and always go (docs/notifications.md).
NOTIFICATION_DEFAULT_EMAIL = env_str("NOTIFICATION_DEFAULT_EMAIL", "auto")
# Email and webhook deliveries go through their own Celery queue, so that a slow receiver never holds a job
# worker: `manage.py serve` runs a notifier (a thread pool of NOTIFICATION_WORKER_CONCURRENCY) on it, the
# compose file a `notifier` service. "" sends them to the default queue (its workers deliver them too).
# Deployments sharing a broker use their own, as with CELERY_TASK_DEFAULT_QUEUE.
NOTIFICATION_QUEUE = env_str("NOTIFICATION_QUEUE", "notifications")
NOTIFICATION_WORKER_CONCURRENCY = env_int("NOTIFICATION_WORKER_CONCURRENCY", 8)
# Email and webhook deliveries: attempts = 1 + retries, waiting backoff·2^n seconds (capped) between.
NOTIFICATION_DELIVERY_MAX_RETRIES = env_int("NOTIFICATION_DELIVERY_MAX_RETRIES", 5)
NOTIFICATION_RETRY_BACKOFF_SECONDS = env_int("NOTIFICATION_RETRY_BACKOFF_SECONDS", 10)
NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS = env_int("NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS", 600)
NOTIFICATION_RETRY_JITTER = env_bool("NOTIFICATION_RETRY_JITTER", True)
# The deliveries of one transition go as one task; each is retried on its own. The time limit bounds one
# delivery on a prefork worker (a thread pool enforces none: the timeouts below bound each connection).
NOTIFICATION_DELIVERY_TIME_LIMIT_SECONDS = env_int("NOTIFICATION_DELIVERY_TIME_LIMIT_SECONDS", 60)
NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS = env_float("NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS", 10.0)
# An SMTP connection's timeout where Django's EMAIL_TIMEOUT is not set (Django's default waits forever).
NOTIFICATION_EMAIL_TIMEOUT_SECONDS = env_float("NOTIFICATION_EMAIL_TIMEOUT_SECONDS", 30.0)
# Webhooks may not reach internal addresses (loopback, private, link-local: SSRF) unless their host is
# listed here, or NOTIFICATION_WEBHOOK_ALLOW_PRIVATE is set (a closed network where that is the point).
NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = env_list("NOTIFICATION_WEBHOOK_ALLOWED_HOSTS", [])
NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = env_bool("NOTIFICATION_WEBHOOK_ALLOW_PRIVATE", False)
# Every webhook is signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) with
# the notification's own `secret`, else this one, else a key derived from SECRET_KEY (`manage.py
# webhook_secret` prints the one in force). See docs/webhooks.md.
NOTIFICATION_WEBHOOK_SECRET = env_str("NOTIFICATION_WEBHOOK_SECRET", "")
# Websockets: "auto" polls the delivery records when the channel layer is in-memory (it cannot carry
# events from worker processes), "poll" always, "layer" never; one query per interval and server process
# however many listen. Deployments sharing a Redis use their own group prefix.
NOTIFICATION_WEBSOCKET_TRANSPORT = env_str("NOTIFICATION_WEBSOCKET_TRANSPORT", "auto")
NOTIFICATION_WEBSOCKET_POLL_SECONDS = env_float("NOTIFICATION_WEBSOCKET_POLL_SECONDS", 0.25)
NOTIFICATION_WEBSOCKET_GROUP_PREFIX = env_str("NOTIFICATION_WEBSOCKET_GROUP_PREFIX", "jobs")
# Where Django's file-based email backend writes (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
