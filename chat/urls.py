"""Chat pages and project pages."""

from django.urls import path

from chat import project_views, search_views, views

app_name = "chat"

urlpatterns = [
    path("", views.home, name="home"),
    path("c/new/", views.new, name="new"),
    path("search/", search_views.search, name="search"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/rename/", views.rename, name="rename"),
    path("c/<int:pk>/delete/", views.delete, name="delete"),
    path("c/<int:pk>/move/", project_views.move_chat, name="move"),
    path("p/new/", project_views.new, name="project_new"),
    path("p/<int:pk>/", project_views.detail, name="project"),
    path("p/<int:pk>/edit/", project_views.edit, name="project_edit"),
    path("p/<int:pk>/delete/", project_views.delete, name="project_delete"),
    path("p/<int:pk>/chats/new/", project_views.new_chat, name="project_new_chat"),
    *(
        path(
            f"p/<int:pk>/{change}/",
            project_views.change_state,
            {"change": change},
            name=f"project_{change}",
        )
        for change in ("archive", "unarchive", "close", "reopen")
    ),
]
