"""The API's schema and interactive docs are served by the app, with nothing from a CDN."""

import re

from django.contrib.staticfiles import finders


def test_the_docs_page_loads_only_files_the_app_serves(client):
    page = client.get("/api/v1/docs").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    assert not re.search(r"https?://", " ".join(assets))
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset


def test_the_schema_lists_every_endpoint_and_the_bearer_scheme(client):
    schema = client.get("/api/v1/openapi.json").json()

    assert set(schema["paths"]) == {
        "/api/v1/memories",
        "/api/v1/memories/search",
        "/api/v1/memories/{memory_id}",
        "/api/v1/memories/{memory_id}/history",
        "/api/v1/recall-preview",
    }
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
