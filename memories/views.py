"""The memory dashboard and the memory notes under chat answers: thin views over memories.

Every view is scoped to request.user through them, so another user's ids are a 404. With htmx a
view answers with the partial it changed; without, with a full page or a redirect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.http import AuthenticatedHttpRequest
from memories import exports, recall, selectors, services, tasks, tokens
from memories.forms import (
    PERSON_CHOICE,
    ApproveForm,
    DeleteAllForm,
    ImportForm,
    MemoryFilterForm,
    MemoryForm,
    MemoryScopeForm,
    MemorySelectionForm,
    MemorySettingsForm,
    PreviewForm,
)
from memories.models import ImportJob, Memory
from memories.scopes import PERSON_ONLY

if TYPE_CHECKING:
    from accounts.models import User
    from chat.models import Message

MEMORIES_PER_PAGE = 25
# htmx events: one memory changed (chat notices refresh), or the dashboard list is out of date.
MEMORY_CHANGED = "memory-changed"
MEMORY_LIST_CHANGED = "memory-list-changed"


# --- the dashboard --------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    filter_form = MemoryFilterForm(request.user, request.GET)
    memories = selectors.find_memories(request.user, filter_form.filters())
    page = Paginator(memories, MEMORIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"filter_form": filter_form, "page": page}
    if _wants_partial(request):
        return render(request, "memories/partials/memory_list.html", context)
    context |= {
        "add_form": MemoryForm(),
        "settings_form": _settings_form(request.user),
        "stale_memories": selectors.stale_memories(request.user),
        "preview_form": PreviewForm(),
    }
    return render(request, "memories/dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def add(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MemoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.add_memory(
                request.user,
                form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
                tags=form.cleaned_data["tags"],
                expires_at=form.cleaned_data["expires_at"],
                needs_approval=False,
                metadata={"via": "dashboard"},
            )
        except services.InvalidMemory as error:
            form.add_error("text", str(error))
        else:
            if request.htmx:
                response = render(
                    request,
                    "memories/partials/add_form.html",
                    {"add_form": MemoryForm(), "added": result},
                )
                return trigger_client_event(response, MEMORY_LIST_CHANGED)
            if result.created:
                messages.success(request, "Memory saved.")
            else:
                messages.info(request, "You already had this memory.")
            return redirect(result.memory)
    status = 400 if request.method == "POST" else 200
    template = "memories/partials/add_form.html" if request.htmx else "memories/add.html"
    return render(request, template, {"add_form": form}, status=status)


@login_required
@require_GET
def detail(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = selectors.get_memory(request.user, pk)
    return render(
        request,
        "memories/detail.html",
        {
            "memory": memory,
            "events": selectors.history_of(request.user, pk),
            "accesses": selectors.accesses_of(request.user, pk),
            "api_calls": tokens.calls_of_memory(request.user, memory),
            "form": MemoryForm.for_memory(memory),
            "scope_form": MemoryScopeForm(
                request.user, initial={"scope": memory.project_id or PERSON_CHOICE}
            ),
        },
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def history(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = selectors.get_memory(request.user, pk)
    context = {"memory": memory, "events": selectors.history_of(request.user, pk)}
    template = "memories/partials/history.html" if request.htmx else "memories/history.html"
    return render(request, template, context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def row(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = selectors.get_memory(request.user, pk)
    if request.htmx:
        return render(request, "memories/partials/memory_row.html", {"memory": memory})
    return redirect(memory)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def edit(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = selectors.get_memory(request.user, pk)
    form = MemoryForm.for_memory(memory, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            memory = services.update_memory(
                request.user,
                pk,
                text=form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
                tags=form.cleaned_data["tags"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except services.InvalidMemory as error:
            form.add_error(None, str(error))
        else:
            return _memory_changed(request, memory, "Memory saved.")
    status = 400 if request.method == "POST" else 200
    template = "memories/partials/memory_edit_row.html" if request.htmx else "memories/edit.html"
    return render(request, template, {"memory": memory, "form": form}, status=status)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = services.delete_memory(request.user, pk)
    if request.htmx:
        response = render(request, "memories/partials/deleted_row.html", {"memory": memory})
        return trigger_client_event(response, MEMORY_CHANGED)
    return render(request, "memories/deleted.html", {"memory": memory})


@login_required
@require_POST
def change_scope(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    """Move the memory to another scope, or (with `copy`) keep a copy of it there too."""
    memory = selectors.get_memory(request.user, pk)
    form = MemoryScopeForm(request.user, request.POST)
    if not form.is_valid():
        return _refused(request, pk, " ".join(form.errors["scope"]), status=400)
    project = form.project()
    if "copy" in request.POST:
        copied = services.copy_memory(request.user, memory.pk, project).memory
        return _memory_changed(request, copied, "Memory copied.")
    memory = services.move_memory(request.user, memory.pk, project)
    return _memory_changed(request, memory, "Memory moved.")


@login_required
@require_POST
def undo_delete(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    try:
        memory = services.undo_delete(request.user, pk)
    except services.ChangeRefused as error:
        return _refused(request, pk, str(error))
    return _memory_changed(request, memory, "Memory brought back.")


@login_required
@require_POST
def restore(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    try:
        memory = services.restore_memory(request.user, pk)
    except services.ChangeRefused as error:
        return _refused(request, pk, str(error))
    return _memory_changed(request, memory, "This version is the current one again.")


@login_required
@require_POST
def approve(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _refused(request, pk, " ".join(form.errors["text"]), status=400)
    try:
        memory = services.approve_memory(request.user, pk, text=form.cleaned_data["text"] or None)
    except (services.ChangeRefused, services.InvalidMemory) as error:
        return _refused(request, pk, str(error))
    return _memory_changed(request, memory, "Memory saved.")


@login_required
@require_POST
def discard(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    try:
        services.discard_pending(request.user, pk)
    except services.ChangeRefused as error:
        return _refused(request, pk, str(error))
    if request.htmx:
        # An empty body replaces the row, which removes it.
        return trigger_client_event(HttpResponse(), MEMORY_CHANGED)
    messages.success(request, "Discarded: it was never used.")
    return redirect("memories:list")


@login_required
@require_POST
def confirm(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = services.confirm_memory(request.user, pk)
    return _stale_answered(request, memory, "Kept, thanks.")


@login_required
@require_POST
def mark_outdated(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    memory = services.supersede(request.user, pk, by=None)
    return _stale_answered(request, memory, "Marked as no longer true: it will not be used.")


@login_required
@require_POST
def bulk_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MemorySelectionForm(request.POST)
    if not form.is_valid():
        return _selection_rejected(request, form)
    ids = form.cleaned_data["ids"]
    count = services.delete_memories(request.user, ids)
    return _bulk_done(request, ids, count, deleted=True)


@login_required
@require_POST
def bulk_undo(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MemorySelectionForm(request.POST)
    if not form.is_valid():
        return _selection_rejected(request, form)
    ids = form.cleaned_data["ids"]
    count = services.undo_delete_memories(request.user, ids)
    return _bulk_done(request, ids, count, deleted=False)


@login_required
@require_http_methods(["GET", "POST"])
def delete_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DeleteAllForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        count = services.delete_all_memories(request.user)
        messages.success(request, f"Deleted all your memories ({count}) and their history.")
        return redirect("memories:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "memories/delete_all.html", {"form": form}, status=status)


@login_required
@require_POST
def update_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MemorySettingsForm(request.POST)
    form.is_valid()
    services.set_paused(request.user, form.cleaned_data["paused"])
    services.set_require_approval(request.user, form.cleaned_data["require_approval"])
    if request.htmx:
        return render(
            request, "memories/partials/settings_card.html", {"settings_form": form, "saved": True}
        )
    messages.success(request, "Memory settings saved.")
    return redirect("memories:list")


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PreviewForm(request.POST or None)
    context = {"preview_form": form}
    if request.method == "POST" and form.is_valid():
        recalled = recall.recall(request.user, form.cleaned_data["message"], scopes=PERSON_ONLY)
        context |= {
            "recalled": recalled,
            "context_block": recall.context_block(recalled),
            "paused": selectors.memory_settings(request.user).paused,
        }
    status = 400 if form.errors else 200
    template = "memories/partials/preview_result.html" if request.htmx else "memories/preview.html"
    return render(request, template, context, status=status)


# --- export and import ------------------------------------------------------------------------


@login_required
@require_GET
def export(request: AuthenticatedHttpRequest) -> HttpResponse:
    response = HttpResponse(
        exports.as_json(exports.export_memories(request.user)), content_type="application/json"
    )
    filename = exports.export_filename()
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def import_file(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = tasks.start_import(request.user, form.cleaned_data["file"])
        return redirect(job)
    status = 400 if form.errors else 200
    return render(request, "memories/import.html", {"form": form}, status=status)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def import_job(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """How an import is going; the page polls it until the import ended."""
    job = selectors.get_import_job(request.user, pk)
    # Someone is waiting on an import: if its worker died, queue it again now.
    if job.status == ImportJob.Status.RUNNING and tasks.requeue_stalled_imports():
        job.refresh_from_db()
    template = (
        "memories/partials/import_progress.html" if request.htmx else "memories/import_job.html"
    )
    return render(request, template, {"job": job})


# --- under each chat answer ------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def answer_memory(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Which memories an answer used, and what its turn changed in memory."""
    answer = selectors.get_answer(request.user, message_id)
    if not request.htmx:
        return _answer_in_conversation(answer)
    return render(
        request,
        "memories/partials/answer_memory_panel.html",
        {"used": selectors.memories_used_by(request.user, answer), **_notice_context(answer)},
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def answer_changes(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """The "Memory updated" notice of an answer; polled while extraction runs."""
    answer = selectors.get_answer(request.user, message_id)
    if not request.htmx:
        return _answer_in_conversation(answer)
    # Someone is waiting on an extraction: if its worker died, queue it again now.
    tasks.requeue_abandoned_extractions()
    return render(request, "memories/partials/answer_changes.html", _notice_context(answer))


@login_required
@require_POST
def retry_extraction(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Try again to learn from an answer's turn, after every automatic attempt failed."""
    answer = selectors.get_answer(request.user, message_id)
    try:
        tasks.retry_failed_extraction(answer)
    except tasks.RetryRefused as error:
        if request.htmx:
            return HttpResponse(str(error), status=409, content_type="text/plain")
        messages.error(request, str(error))
        return _answer_in_conversation(answer)
    if request.htmx:
        return render(request, "memories/partials/answer_changes.html", _notice_context(answer))
    messages.success(request, "Trying again to update memory from this answer.")
    return _answer_in_conversation(answer)


# --- helpers -----------------------------------------------------------------------------------


def _wants_partial(request: AuthenticatedHttpRequest) -> bool:
    # A history restore after a cache miss needs the whole page, although htmx sent it.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _settings_form(owner: User) -> MemorySettingsForm:
    prefs = selectors.memory_settings(owner)
    return MemorySettingsForm(
        initial={"paused": prefs.paused, "require_approval": prefs.require_approval}
    )


def _memory_changed(request: AuthenticatedHttpRequest, memory: Memory, done: str) -> HttpResponse:
    """After one memory changed: its fresh row for htmx, otherwise back to its page."""
    if request.htmx:
        response = render(request, "memories/partials/memory_row.html", {"memory": memory})
        return trigger_client_event(response, MEMORY_CHANGED)
    messages.success(request, done)
    return redirect(memory)


def _refused(
    request: AuthenticatedHttpRequest, pk: UUID, reason: str, status: int = 409
) -> HttpResponse:
    """The change cannot be made: most often the memory already moved on (a second click)."""
    if request.htmx:
        return HttpResponse(reason, status=status, content_type="text/plain")
    messages.error(request, reason)
    return redirect("memories:detail", pk)


def _stale_answered(request: AuthenticatedHttpRequest, memory: Memory, done: str) -> HttpResponse:
    if request.htmx:
        response = render(
            request, "memories/partials/stale_answered.html", {"memory": memory, "done": done}
        )
        return trigger_client_event(response, MEMORY_LIST_CHANGED)
    messages.success(request, done)
    return redirect("memories:list")


def _bulk_done(
    request: AuthenticatedHttpRequest, ids: list[UUID], count: int, *, deleted: bool
) -> HttpResponse:
    if request.htmx:
        response = render(
            request,
            "memories/partials/bulk_result.html",
            {"ids": ids, "count": count, "deleted": deleted},
        )
        return trigger_client_event(response, MEMORY_LIST_CHANGED)
    noun = "memory" if count == 1 else "memories"
    messages.success(request, f"{'Deleted' if deleted else 'Brought back'} {count} {noun}.")
    return redirect("memories:list")


def _selection_rejected(
    request: AuthenticatedHttpRequest, form: MemorySelectionForm
) -> HttpResponse:
    if request.htmx:
        return render(request, "memories/partials/bulk_result.html", {"form": form}, status=400)
    messages.error(request, " ".join(form.errors["ids"]))
    return redirect("memories:list")


def _notice_context(answer: Message) -> dict:
    """What the notice under an answer shows: its turn's changes, or that extraction failed."""
    return {
        "answer": answer,
        "changes": selectors.changes_after(answer),
        "extraction_failed": selectors.extraction_failed(answer),
    }


def _answer_in_conversation(answer: Message) -> HttpResponse:
    return redirect(f"{answer.conversation.get_absolute_url()}#{answer.dom_id}")
