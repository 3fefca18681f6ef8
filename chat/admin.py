"""Admin for conversations and messages: read-mostly, for support and debugging."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from chat.models import Conversation, Message


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
    list_display = ("owner", "title", "is_temporary", "updated_at")
    list_display_links = ("title",)
    list_filter = ("is_temporary",)
    list_select_related = ("owner",)
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner",)
    date_hierarchy = "updated_at"
    inlines = [MessageInline]


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
