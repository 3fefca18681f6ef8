"""The "API access" pages: a person's access tokens, each with its log of reads and writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedHttpRequest
from memories import tokens
from memories.forms import TokenForm


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, owner=request.user)
    created = None
    if request.method == "POST" and form.is_valid():
        created = tokens.create_token(
            request.user, form.cleaned_data["name"], **form.token_options()
        )
        form = TokenForm(owner=request.user)
    context = {"form": form, "created": created, "tokens": tokens.tokens_of(request.user)}
    # The new secret is in this page only: never cached, never shown again.
    response = render(request, "memories/tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def token_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = tokens.get_token(request.user, pk)
    context = {"token": token, "calls": tokens.calls_of_token(token)}
    return render(request, "memories/token_detail.html", context)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = tokens.revoke_token(tokens.get_token(request.user, pk))
    messages.success(request, f"Token “{token.name}” revoked: it no longer works anywhere.")
    return redirect("memories:tokens")
