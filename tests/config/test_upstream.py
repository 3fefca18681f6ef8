"""Which model answers: the configured upstream, or the offline model when none is set."""

import pytest

from config import upstream


@pytest.mark.parametrize(
    ("api_key", "base_url", "offline"),
    [("", "", True), ("sk-test", "", False), ("", "http://127.0.0.1:1/v1", False)],
)
def test_the_offline_model_answers_only_without_key_and_base_url(
    settings, api_key, base_url, offline
):
    settings.OPENAI_API_KEY = api_key
    settings.OPENAI_BASE_URL = base_url

    assert upstream.uses_offline_model() is offline
    assert (upstream.model_name() == "offline-demo") is offline
