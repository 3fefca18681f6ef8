"""Proof that a process is warm: it has the embedding model loaded and embeds at once."""

from django_tasks import task

from memories import embeddings


@task()
def embed_in_worker() -> bool:
    """Run by a worker: embeds one word (loading the model if the worker had not yet)."""
    embeddings.embed_text("ready")
    return embeddings.is_loaded()
