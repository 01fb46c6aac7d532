"""What the e2e suite's Django apps share (bookshelf_app.py, canary_app.py): the settings every one of
them uses, the request loop over a SCRIPT of (method, url, json body) with Django's test client, and the
end of a run (flush the tracer, print one JSON line, exit 1 if any request failed).

Each app still imports ddtrace.auto itself, first, before this module loads Django.
"""
import json
import sys

import django
from django.conf import settings


def configure(*, root_urlconf, databases, cache_location, templates=None):
    """settings.configure with the suite's common settings, then django.setup()."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="e2e-not-secret",
        ROOT_URLCONF=root_urlconf,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "bookshelf"],
        DATABASES=databases,
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": cache_location}},
        TEMPLATES=templates or [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        USE_TZ=True,
    )
    django.setup()


def drive(script, *, rounds=1, aliases=("default",)):
    """Migrates each database alias, then runs SCRIPT `rounds` times; POST bodies get " {round}" appended
    to their title after the first round so that rows stay distinct. Returns the status codes."""
    from django.core.management import call_command
    from django.test import Client

    for alias in aliases:
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0)
    client = Client()
    statuses = []
    for i in range(rounds):
        for method, url, body in script:
            if method == "POST":
                if rounds > 1:
                    body = dict(body, title=f"{body['title']} {i}")
                resp = client.post(url, data=json.dumps(body), content_type="application/json")
            else:
                resp = client.get(url)
            statuses.append(resp.status_code)
    return statuses


def finish(summary, statuses):
    """Flushes and stops the tracer (every span reaches the agent before exit), prints `summary` plus the
    statuses as one JSON line, and returns the exit code: 0 when every request succeeded."""
    from ddtrace.trace import tracer

    tracer.flush()
    tracer.shutdown()
    print(json.dumps(dict(summary, statuses=statuses)))
    return 0 if all(s < 400 for s in statuses) else 1
