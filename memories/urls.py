"""The memory dashboard, under /memories/."""

from django.urls import path

from memories import token_views, views

app_name = "memories"

urlpatterns = [
    path("", views.dashboard, name="list"),
    path("add/", views.add, name="add"),
    path("bulk-delete/", views.bulk_delete, name="bulk_delete"),
    path("bulk-undo/", views.bulk_undo, name="bulk_undo"),
    path("delete-all/", views.delete_all, name="delete_all"),
    path("settings/", views.update_settings, name="settings"),
    path("preview/", views.preview, name="preview"),
    path("export/", views.export, name="export"),
    path("import/", views.import_file, name="import"),
    path("imports/<int:pk>/", views.import_job, name="import_job"),
    path("tokens/", token_views.token_list, name="tokens"),
    path("tokens/<int:pk>/", token_views.token_detail, name="token"),
    path("tokens/<int:pk>/revoke/", token_views.token_revoke, name="token_revoke"),
    path("answers/<int:message_id>/", views.answer_memory, name="answer_memory"),
    path("answers/<int:message_id>/changes/", views.answer_changes, name="answer_changes"),
    path("answers/<int:message_id>/retry/", views.retry_extraction, name="retry_extraction"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/row/", views.row, name="row"),
    path("<uuid:pk>/history/", views.history, name="history"),
    path("<uuid:pk>/edit/", views.edit, name="edit"),
    path("<uuid:pk>/delete/", views.delete, name="delete"),
    path("<uuid:pk>/scope/", views.change_scope, name="scope"),
    path("<uuid:pk>/undo-delete/", views.undo_delete, name="undo_delete"),
    path("<uuid:pk>/restore/", views.restore, name="restore"),
    path("<uuid:pk>/approve/", views.approve, name="approve"),
    path("<uuid:pk>/discard/", views.discard, name="discard"),
    path("<uuid:pk>/confirm/", views.confirm, name="confirm"),
    path("<uuid:pk>/outdated/", views.mark_outdated, name="outdated"),
]
