"""Chat pages: the conversation list and one conversation; the answers themselves stream over the
websocket (chat.consumers)."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.http import AuthenticatedHttpRequest
from chat import selectors, services
from chat.models import Conversation
from memories import selectors as memory_selectors


@login_required
@require_GET
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    conversations = services.conversations_of(request.user)
    if conversations:
        return redirect(conversations[0])
    return render(request, "chat/home.html")


@login_required
@require_GET
def conversation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _render_conversation(request, services.get_conversation(request.user, pk))


@login_required
@require_POST
def new(request: AuthenticatedHttpRequest) -> HttpResponse:
    conversation = services.create_conversation(
        request.user, is_temporary="temporary" in request.POST
    )
    return redirect(conversation)


@login_required
@require_POST
def rename(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    conversation = services.get_conversation(request.user, pk)
    try:
        services.rename_conversation(conversation, request.POST.get("title", ""))
    except services.InvalidTitle as error:
        return _rename_rejected(request, conversation, str(error))
    if request.htmx:
        return render(
            request,
            "chat/partials/conversation_item.html",
            {
                "item": conversation,
                "active_pk": conversation.pk if _is_current_page(request, conversation) else None,
                "update_title": True,
            },
        )
    return redirect(conversation)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    conversation = services.get_conversation(request.user, pk)
    was_current = _is_current_page(request, conversation)
    services.delete_conversation(conversation)
    if not request.htmx:
        return redirect("chat:home")
    if was_current:
        return HttpResponseClientRedirect(reverse("chat:home"))
    # An empty body replaces the sidebar item, which removes it.
    return HttpResponse()


def _render_conversation(
    request: AuthenticatedHttpRequest, conversation: Conversation, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "sidebar": selectors.sidebar_of(request.user),
            "chat_messages": selectors.messages_with_tool_calls(conversation),
            "stale_memories": memory_selectors.stale_questions_for(conversation),
        },
        status=status,
    )


def _rename_rejected(
    request: AuthenticatedHttpRequest, conversation: Conversation, error: str
) -> HttpResponse:
    if request.htmx:
        response = render(request, "chat/partials/form_error.html", {"error": error}, status=400)
        # The form targets the whole sidebar item; the error belongs in the item's error slot.
        retarget(response, f"#conversation-{conversation.pk}-error")
        return reswap(response, "innerHTML")
    messages.error(request, error)
    return _render_conversation(request, conversation, status=400)


def _is_current_page(request: AuthenticatedHttpRequest, conversation: Conversation) -> bool:
    """Whether the htmx request came from this conversation's own page."""
    current_url = request.htmx.current_url_abs_path or ""
    return urlsplit(current_url).path == conversation.get_absolute_url()
