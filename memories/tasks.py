"""Background jobs of the memory layer (django-tasks; the database backend by default)."""

from django_tasks import task

from memories import pipeline


@task()
def extract_memories(run_id: int) -> None:
    pipeline.run_extraction(run_id)
