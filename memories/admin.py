"""Admin for memories: read-only views for support, two account-wide actions, and extraction runs.

Memories change only through memories.services (which re-embed, keep history and refresh the
search index), so the admin shows them but does not edit them.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from memories import exports, services, tasks, tokens
from memories.models import (
    AccessToken,
    ExtractionRun,
    Memory,
    MemoryAccess,
    MemoryEvent,
    MemorySettings,
)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class MemoryEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MemoryEvent
    fk_name = "memory"
    fields = ("created_at", "action", "old_text", "new_text", "related_memory", "message")
    readonly_fields = fields
    extra = 0


class MemoryAccessInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MemoryAccess
    fields = ("created_at", "message", "score")
    readonly_fields = fields
    extra = 0


@admin.register(Memory)
class MemoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "owner",
        "short_text",
        "kind",
        "status",
        "created_at",
        "last_used_at",
        "use_count",
    )
    list_display_links = ("short_text",)
    list_filter = ("kind", "status")
    list_select_related = ("owner",)
    search_fields = ("owner__username", "text")
    date_hierarchy = "created_at"
    exclude = ("embedding",)
    inlines = [MemoryEventInline, MemoryAccessInline]
    actions = ["export_owners_memories", "delete_owners_memories"]

    @admin.display(description="text", ordering="text")
    def short_text(self, memory: Memory) -> str:
        return str(memory)

    def has_delete_owners_memories_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("memories.delete_memory")

    @admin.action(description="Export selected users' memories", permissions=["view"])
    def export_owners_memories(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        payload = {
            owner.get_username(): exports.export_memories(owner) for owner in _owners(queryset)
        }
        response = HttpResponse(exports.as_json(payload), content_type="application/json")
        filename = exports.export_filename("memories-export")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(
        description="Delete all memories of the selected memories' owners",
        permissions=["delete_owners_memories"],
    )
    def delete_owners_memories(self, request: HttpRequest, queryset: QuerySet) -> None:
        owners = _owners(queryset)
        count = sum(services.delete_all_memories(owner) for owner in owners)
        self.message_user(
            request,
            f"Deleted {count} memories of {len(owners)} user(s), with their history.",
            messages.SUCCESS,
        )


@admin.register(MemoryAccess)
class MemoryAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("memory", "message", "score", "created_at")
    list_select_related = ("memory", "message")
    search_fields = ("memory__owner__username", "memory__text")
    date_hierarchy = "created_at"


@admin.register(MemorySettings)
class MemorySettingsAdmin(admin.ModelAdmin):
    list_display = ("owner", "paused", "require_approval")
    list_filter = ("paused", "require_approval")
    list_select_related = ("owner",)
    search_fields = ("owner__username",)
    fields = ("owner", "paused", "require_approval", "revision", "epoch")
    readonly_fields = ("owner", "revision", "epoch")

    # Created with an account's first memory; its revision and epoch drive the search index.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(ExtractionRun)
class ExtractionRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Learning from each turn: failed runs are found by the status filter, and tried again."""

    list_display = ("message", "owner", "status", "attempts", "updated_at", "claimed_by")
    list_filter = ("status", "updated_at")
    list_select_related = ("message__conversation__owner",)
    search_fields = ("message__conversation__owner__username",)
    date_hierarchy = "updated_at"
    fields = (
        "message",
        "status",
        "attempts",
        "last_error",
        "claimed_by",
        "lease_expires_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description="owner", ordering="message__conversation__owner__username")
    def owner(self, run: ExtractionRun) -> str:
        return run.message.conversation.owner.get_username()

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("memories.change_extractionrun")

    @admin.action(description="Try the selected extractions again", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = tasks.retry_runs(queryset.exclude(status=ExtractionRun.Status.DONE))
        skipped = queryset.count() - count
        note = f" ({skipped} done or running now, left alone)" if skipped else ""
        self.message_user(request, f"Queued {count} extraction(s) again{note}.", messages.SUCCESS)


def _owners(memories: QuerySet) -> list:
    return list(get_user_model().objects.filter(pk__in=memories.values("owner")))


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tokens are listed and revoked, never read: only a hash of the secret is stored anyway."""

    list_display = ("name", "owner", "prefix", "scope", "can_write", "last_used_at", "revoked_at")
    list_filter = ("scope", "can_write")
    search_fields = ("owner__username", "name", "prefix")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("memories.change_accesstoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        for token in queryset:
            tokens.revoke_token(token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)
