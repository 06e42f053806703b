"""The service's settings plus the benchmark's own routes (bench/floor_urls.py): what bench/api.py serves.

Only the URL configuration differs, so the server under measurement is the product's in every other
respect (middleware, authentication, database settings); nothing here ships in the product's URLs.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
