import json

from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from .models import Author, Book


def shelf(request):
    """ORM read with a join, two cache calls, one page template that includes a row template."""
    books = list(Book.objects.select_related("author"))
    visits = cache.get("shelf.visits", 0) + 1
    cache.set("shelf.visits", visits, 60)
    return render(request, "bookshelf/shelf.html", {"books": books, "visits": visits})


@csrf_exempt
def add_book(request):
    """ORM get_or_create + insert, one cache delete, JSON answer (no template)."""
    data = json.loads(request.body)
    author, _ = Author.objects.get_or_create(name=data["author"])
    book = Book.objects.create(title=data["title"], author=author, year=data["year"])
    cache.delete("shelf.visits")
    return JsonResponse({"id": book.id, "author": author.name}, status=201)


def author_count(request):
    """ORM aggregate only: no cache, no template."""
    return JsonResponse({"authors": Author.objects.count(), "books": Book.objects.count()})
