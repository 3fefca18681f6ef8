"""Admin for projects, conversations, messages and tool calls: read-mostly, for support."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from chat.models import Conversation, Message, Project, ToolCall


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "kind",
        "is_closed",
        "is_archived",
        "memory_mode",
        "updated_at",
    )
    list_filter = ("kind", "is_closed", "is_archived", "memory_mode")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    date_hierarchy = "updated_at"


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "role", "status", "content", "error", "model_name")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("owner", "title", "project", "is_temporary", "updated_at")
    list_display_links = ("title",)
    list_filter = ("is_temporary",)
    list_select_related = ("owner", "project")
    search_fields = ("title", "owner__username", "project__name")
    raw_id_fields = ("owner", "project")
    date_hierarchy = "updated_at"
    inlines = [MessageInline]


class ToolCallInline(admin.TabularInline):
    model = ToolCall
    fields = ("created_at", "name", "arguments", "output", "is_error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "conversation",
        "role",
        "status",
        "created_at",
        "model_name",
        "input_tokens",
        "output_tokens",
    )
    list_filter = ("role", "status")
    list_select_related = ("conversation",)
    search_fields = ("content",)
    raw_id_fields = ("conversation",)
    date_hierarchy = "created_at"
    inlines = [ToolCallInline]
