"""/ready/ answers 200 only once this process has the embedding model loaded."""

import pytest
from django.urls import reverse

from memories import embeddings


@pytest.fixture
def cold_model():
    embeddings._load_encoder.cache_clear()
    yield
    embeddings.embed_text("warm again for the tests that follow")


def test_ready_is_503_while_the_model_is_not_loaded(client, cold_model):
    response = client.get(reverse("ready"))

    assert response.status_code == 503
    assert "no-cache" in response["Cache-Control"]


def test_ready_is_200_once_the_model_is_loaded(client, db):
    embeddings.embed_text("hello")

    response = client.get(reverse("ready"))

    assert response.status_code == 200
