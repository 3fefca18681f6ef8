"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path

from config import readiness

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ready/", readiness.ready, name="ready"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("memories/", include("memories.urls")),
    path("", include("chat.urls")),
]
