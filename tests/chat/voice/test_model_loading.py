"""The speech models load with a process's first offline voice session, not when it starts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from chat.voice import speech
from memories import embeddings
from tests.chat.voice.conftest import RATE, close_code

ROOT = Path(__file__).resolve().parents[3]

# What a web process has loaded once every thread its start began (the warm-ups) has ended.
STARTED_PROCESS = """
import json, sys, threading
import config.asgi
from chat.voice import speech
from memories import embeddings
for thread in threading.enumerate():
    if thread is not threading.main_thread():
        thread.join()
libraries = ("faster_whisper", "ctranslate2", "piper", "av")
print(json.dumps({
    "embedding_model": embeddings.is_loaded(),
    "speech_models": speech.models_loaded(),
    "speech_libraries": [name for name in libraries if name in sys.modules],
}))
"""


@pytest.fixture
def speech_models_unloaded():
    speech._load_whisper.cache_clear()
    speech._load_piper.cache_clear()


def test_a_web_process_with_voice_on_starts_with_the_embedding_model_only(tmp_path):
    embeddings.embed_text("the model is exported before the process looks for it")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "tests-only",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEMORY_EMBEDDING_MODEL_DIR": str(settings.MEMORY_EMBEDDING_MODEL_DIR),
        "VOICE_ENABLED": "true",
        "REDIS_URL": "",
        # No embedded task worker: its threads run for as long as the process.
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
    }
    started = subprocess.run(
        [sys.executable, "-c", STARTED_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout.splitlines()[-1]) == {
        "embedding_model": True,
        "speech_models": False,
        "speech_libraries": [],
    }


@pytest.mark.django_db(transaction=True)
async def test_the_first_offline_voice_session_loads_the_speech_models_before_ready(
    connect_voice, conversation, user, speech_models_unloaded
):
    socket = await connect_voice(conversation.pk, user)
    assert not speech.models_loaded()

    await socket.send_json_to({"type": "start", "sample_rate": RATE, "format": "pcm16"})
    ready = await socket.receive_json_from(timeout=60)

    assert ready["type"] == "ready"
    assert ready["output_sample_rate"] == 22050
    assert speech.models_loaded()


@pytest.mark.django_db(transaction=True)
async def test_a_realtime_voice_session_loads_no_speech_model(
    start_voice, conversation, user, realtime, speech_models_unloaded
):
    socket = await start_voice(conversation.pk, user)
    await socket.send_json_to({"type": "stop"})
    assert (await close_code(socket))[1] == 1000

    assert not speech.models_loaded()
