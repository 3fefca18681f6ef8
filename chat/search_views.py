"""The conversation search: a page of its own, or the sidebar's results when asked by htmx."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import AuthenticatedHttpRequest
from chat import search as conversation_search


@login_required
@require_GET
@vary_on_headers("HX-Request")
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    template = "chat/partials/search_results.html" if request.htmx else "chat/search.html"
    context = {"query": query, "hits": [], "error": ""}
    if not query.strip():
        return render(request, template, context)
    try:
        context["hits"] = conversation_search.search_conversations(request.user, query)
    except conversation_search.InvalidSearch as error:
        context["error"] = str(error)
        return render(request, template, context, status=400)
    return render(request, template, context)
