"""Runs the bookshelf Django app under ddtrace (ddtrace.auto) and drives it with Django's test client.

Test client of the end-to-end suite (Tests/e2e). Env: BOOKSHELF_DB (sqlite file, fresh per run),
DD_* as usual. Prints one JSON line with the requests it made and their status codes.
"""
import ddtrace.auto  # noqa: F401  (must come first)

import json
import os
import sys

import django
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

settings.configure(
    DEBUG=False,
    SECRET_KEY="e2e-not-secret",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "bookshelf"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BOOKSHELF_DB"]}},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bookshelf"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    USE_TZ=True,
)
django.setup()

from django.urls import path  # noqa: E402

from bookshelf import views  # noqa: E402

urlpatterns = [
    path("shelf/", views.shelf),
    path("books/", views.add_book),
    path("stats/", views.author_count),
]

from bookshelf.script import SCRIPT  # noqa: E402


def main():
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", run_syncdb=True, verbosity=0)
    client = Client()
    statuses = []
    for method, url, body in SCRIPT:
        if method == "POST":
            resp = client.post(url, data=json.dumps(body), content_type="application/json")
        else:
            resp = client.get(url)
        statuses.append(resp.status_code)
    from ddtrace.trace import tracer

    tracer.flush()
    tracer.shutdown()
    print(json.dumps({"app": "bookshelf", "requests": [f"{m} {u}" for m, u, _ in SCRIPT], "statuses": statuses}))
    return 0 if all(s < 400 for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
