"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path, re_path

from api import rest
from config import readiness

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ready/", readiness.ready, name="ready"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("memories/", include("memories.urls")),
    path("api/v1/", rest.api.urls),
    re_path(r"^api/", rest.not_found_json),
    path("", include("chat.urls")),
]
