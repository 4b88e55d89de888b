"""The bare Django baseline of bench/server.py: the smallest Django project
that serves the same bytes as the public totals and inserts one row in a
transaction, under the same gunicorn as the service.

    BENCH_DOCUMENT=/tmp/totals.json DATABASE_URL=postgres://.../vtf_bench \\
        gunicorn --chdir bench bare_django:application

No middleware, no DRF, no cache: what any Django view costs at least.
"""

import os
from pathlib import Path

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def _database() -> dict:
    import environ  # django-environ, as backend/settings.py reads DATABASE_URL

    return environ.Env.db_url_config(os.environ["DATABASE_URL"])


settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",  # noqa: S106
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={"default": {**_database(), "CONN_MAX_AGE": 600}},
    USE_TZ=True,
)
django.setup()

DOCUMENT = Path(os.environ["BENCH_DOCUMENT"]).read_bytes()
TABLE = "bench_bare_insert"


def document(request):
    return HttpResponse(DOCUMENT, content_type="application/json")


@csrf_exempt
def insert(request):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (body) VALUES (%s) RETURNING id", [request.body.decode()])
        row_id = cursor.fetchone()[0]
    return HttpResponse(b'{"id": %d}' % row_id, content_type="application/json", status=201)


urlpatterns = [path("document/", document), path("insert/", insert)]

application = get_wsgi_application()
