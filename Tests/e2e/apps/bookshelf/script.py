"""What bookshelf_app.py does with Django's test client, and the Django spans that follow from it.

Pure data (no Django, no ddtrace) so the tests can read it too."""

# (method, path, JSON body)
SCRIPT = [
    ("POST", "/books/", {"title": "Dune", "author": "Frank Herbert", "year": 1965}),
    ("POST", "/books/", {"title": "Solaris", "author": "Stanislaw Lem", "year": 1961}),
    ("GET", "/shelf/", None),
    ("POST", "/books/", {"title": "Fiasco", "author": "Stanislaw Lem", "year": 1986}),
    ("GET", "/shelf/", None),
    ("GET", "/stats/", None),
    ("GET", "/shelf/", None),
]


def expected_django_spans():
    """Cache and template spans ddtrace's Django integration makes for SCRIPT (v3 defaults):
    /shelf/ = cache get + set, one page template plus one included row template per book;
    POST /books/ = one cache delete; /stats/ = neither."""
    books = cache = template = 0
    for method, path, _ in SCRIPT:
        if method == "POST" and path == "/books/":
            books += 1
            cache += 1
        elif path == "/shelf/":
            cache += 2
            template += 1 + books
    return {"cache": cache, "template": template, "requests": len(SCRIPT)}
