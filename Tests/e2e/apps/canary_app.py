"""The canary test's Django app (Tests/e2e/test_canary.py): run as is under ddtrace 3.19.9 and
under ddtrace 4.x (its own venv), through one proxy, as the same DD_SERVICE.

The ORM on two database aliases (`default`, `archive`), the LocMem cache, a Django template page
(bookshelf/shelf.html with its included rows) and a Jinja2 page (canary_templates/page.jinja).
Env: CANARY_DB_DIR (fresh per run), CANARY_ROUNDS (how many times SCRIPT runs). Prints one JSON
line with the ddtrace version, the requests made and their status codes.
"""
import ddtrace.auto  # noqa: F401  (must come first)

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DB_DIR = os.environ["CANARY_DB_DIR"]

import django_driver  # noqa: E402

django_driver.configure(
    root_urlconf=__name__,
    databases={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(DB_DIR, "default.sqlite3")},
        "archive": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(DB_DIR, "archive.sqlite3")},
    },
    cache_location="canary",
    templates=[
        {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True},
        {"BACKEND": "django.template.backends.jinja2.Jinja2", "DIRS": [os.path.join(HERE, "canary_templates")]},
    ],
)

from django.core.cache import cache  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from bookshelf.models import Author, Book  # noqa: E402


def shelf(request):
    """ORM on `default` with a join, a count on `archive`, cache get + set, a Django template."""
    books = list(Book.objects.select_related("author"))
    archived = Book.objects.using("archive").count()
    visits = cache.get("shelf.visits", 0) + 1
    cache.set("shelf.visits", visits, 60)
    return render(request, "bookshelf/shelf.html", {"books": books, "visits": visits + archived})


def page(request):
    """ORM on `archive`, a Jinja2 template (ddtrace's jinja2 integration, kept by v4)."""
    books = list(Book.objects.using("archive").all())
    return render(request, "page.jinja", {"title": "Archive", "books": books}, using="jinja2")


@csrf_exempt
def add_book(request):
    """ORM writes on both aliases, one cache delete."""
    data = json.loads(request.body)
    for alias in ("default", "archive"):
        author, _ = Author.objects.using(alias).get_or_create(name=data["author"])
        Book.objects.using(alias).create(title=data["title"], author=author, year=data["year"])
    cache.delete("shelf.visits")
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [path("shelf/", shelf), path("page/", page), path("books/", add_book)]

SCRIPT = [
    ("POST", "/books/", {"title": "Dune", "author": "Frank Herbert", "year": 1965}),
    ("GET", "/shelf/", None),
    ("GET", "/page/", None),
]


def main():
    import ddtrace

    rounds = int(os.environ.get("CANARY_ROUNDS", "8"))
    statuses = django_driver.drive(SCRIPT, rounds=rounds, aliases=("default", "archive"))
    return django_driver.finish({"app": "canary", "ddtrace": ddtrace.__version__}, statuses)


if __name__ == "__main__":
    sys.exit(main())
