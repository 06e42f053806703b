# One image for web (gunicorn), ws (daphne), worker, notifier and beat (docker-compose.yml picks the command).
#
# Two stages, so that a change to the code rebuilds only the last layers: the builder makes wheels of the
# dependencies from pyproject.toml and requirements/constraints.txt alone (its layers change only when those
# two files do); the final image installs those wheels, then copies the code.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml ./
COPY requirements/constraints.txt requirements/constraints.txt
# The project's own wheel is empty (pyproject: packages = []); building it resolves the runtime dependencies,
# at the versions of the lock (the same constraints `make install` uses).
RUN pip wheel --wheel-dir /wheels --constraint requirements/constraints.txt .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app VAR_DIR=/var/lib/jobtemplates MEDIA_ROOT=/data/media STATIC_ROOT=/app/static
# The services run as this user (uid 10001, no login, no home of its own): it owns only the state folders.
RUN groupadd --system --gid 10001 jobtemplates \
    && useradd --system --uid 10001 --gid jobtemplates --home-dir /var/lib/jobtemplates --no-create-home \
       --shell /usr/sbin/nologin jobtemplates
# The dependencies, from the builder's wheels (bind-mounted: they are not kept in a layer); no index.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels jobtemplate-service
WORKDIR /app
# The code, owned by root and read-only to the services.
COPY . .
# Static files into the image (whitenoise serves them). A throwaway key and VAR_DIR: settings would
# otherwise write an installation key into the image, the same for everyone who pulls it.
RUN SECRET_KEY=collectstatic-at-build-time VAR_DIR=/tmp/build-var \
       python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-var \
    && mkdir -p "$VAR_DIR" "$MEDIA_ROOT" \
    && chown -R 10001:10001 "$VAR_DIR" "$MEDIA_ROOT"
USER 10001:10001
EXPOSE 8000 8001
# The HTTP API's /healthz (database and broker); docker-compose.yml gives each other service its own check.
HEALTHCHECK --interval=15s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "/app/config/probes.py", "http://127.0.0.1:8000/healthz"]
# The HTTP API; websockets are daphne's: python -m config.server -b 0.0.0.0 -p 8001 config.asgi:application
CMD ["python", "-m", "gunicorn", "-c", "python:config.gunicorn_conf", "-b", "0.0.0.0:8000", "config.wsgi:application"]
