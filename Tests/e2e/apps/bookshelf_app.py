"""Runs the bookshelf Django app under ddtrace (ddtrace.auto) and drives it with Django's test client.

Test client of the end-to-end suite (Tests/e2e). Env: BOOKSHELF_DB (sqlite file, fresh per run),
DD_* as usual. Prints one JSON line with the requests it made and their status codes.
"""
import ddtrace.auto  # noqa: F401  (must come first)

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import django_driver  # noqa: E402

django_driver.configure(
    root_urlconf=__name__,
    databases={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BOOKSHELF_DB"]}},
    cache_location="bookshelf",
)

from django.urls import path  # noqa: E402

from bookshelf import views  # noqa: E402

urlpatterns = [
    path("shelf/", views.shelf),
    path("books/", views.add_book),
    path("stats/", views.author_count),
]

from bookshelf.script import SCRIPT  # noqa: E402


def main():
    statuses = django_driver.drive(SCRIPT)
    return django_driver.finish({"app": "bookshelf", "requests": [f"{m} {u}" for m, u, _ in SCRIPT]}, statuses)


if __name__ == "__main__":
    sys.exit(main())
