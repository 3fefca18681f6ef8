"""Project pages: create, show, edit, archive, close, delete a project, and its chats.

Every view looks the project up by its owner (chat.selectors.get_project), so another account's
project id is a 404 whatever the URL.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import projects, selectors, services
from chat.forms import ProjectForm
from chat.models import Project
from memories import selectors as memory_selectors


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = projects.create_project(request.user, **form.cleaned_data)
        except projects.ProjectNameTaken as error:
            form.add_error("name", str(error))
        else:
            return redirect(project)
    return _render_form(request, form, project=None)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_project(request.user, pk)
    return render(
        request,
        "chat/project.html",
        {
            "project": project,
            "project_conversations": selectors.conversations_in(project),
            "project_memory": memory_selectors.project_memories(request.user, project),
            "sidebar": selectors.sidebar_of(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_project(request.user, pk)
    form = ProjectForm.for_project(project, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            projects.update_project(project, **form.cleaned_data)
        except projects.ProjectNameTaken as error:
            form.add_error("name", str(error))
        else:
            return redirect(project)
    return _render_form(request, form, project=project)


def _render_form(request: HttpRequest, form: ProjectForm, project: Project | None) -> HttpResponse:
    return render(
        request,
        "chat/project_form.html",
        {"form": form, "project": project},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def change_state(request: HttpRequest, pk: int, change: str) -> HttpResponse:
    """Archive, unarchive, close or reopen: `change` comes from the URL pattern, not the user."""
    project = selectors.get_project(request.user, pk)
    try:
        if change in ("archive", "unarchive"):
            projects.set_archived(project, change == "archive")
        else:
            projects.set_closed(project, change == "close")
    except projects.ProjectError as error:
        messages.error(request, str(error))
    return redirect(project)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_project(request.user, pk)
    if request.method == "POST":
        deleted_chats = projects.delete_project(project)
        messages.success(
            request,
            f"Deleted the project “{project.name}” and {deleted_chats} "
            f"chat{'' if deleted_chats == 1 else 's'}.",
        )
        return redirect("chat:home")
    return render(
        request,
        "chat/project_delete.html",
        {"project": project, "project_conversations": selectors.conversations_in(project)},
    )


@login_required
@require_POST
def new_chat(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_project(request.user, pk)
    try:
        conversation = projects.start_chat(project)
    except projects.ProjectError as error:
        messages.error(request, str(error))
        return redirect(project)
    return redirect(conversation)


@login_required
@require_POST
def move_chat(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a chat into the project named by the form's `project` id, or out of any when empty."""
    conversation = services.get_conversation(request.user, pk)
    project_id = request.POST.get("project", "")
    project = selectors.get_project(request.user, project_id) if project_id else None
    projects.move_conversation(conversation, project)
    return redirect(conversation)
