# One image for web (gunicorn), ws (daphne), worker, notifier and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/var/lib/jobtemplates
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir --upgrade pip
COPY . .
RUN pip install --no-cache-dir -e . && python manage.py collectstatic --noinput --verbosity 0
EXPOSE 8000 8001
# The HTTP API; websockets are daphne's: python -m config.server -b 0.0.0.0 -p 8001 config.asgi:application
CMD ["python", "-m", "gunicorn", "-c", "python:config.gunicorn_conf", "-b", "0.0.0.0:8000", "config.wsgi:application"]
