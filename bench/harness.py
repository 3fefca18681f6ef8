"""What every benchmark script shares: a scratch database, Django set-up, timing and reporting."""

import argparse
import atexit
import hashlib
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
CACHE_CHUNK = 5000


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="use a fresh PostgreSQL database on 127.0.0.1:5432 (or DATABASE_URL's server)",
    )
    return parser


def scratch_database_url(name: str, postgres: bool) -> str:
    """A new, empty database for this run; PostgreSQL ones are dropped when the run ends."""
    if not postgres:
        path = Path(f"/tmp/recall-bench-{name}.sqlite3")
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    admin_url = os.environ.get("DATABASE_URL") or POSTGRES_ADMIN_URL
    server = admin_url.rsplit("/", 1)[0]
    database = f"recall_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    atexit.register(drop)
    return f"{server}/{database}"


def setup_django(name: str, postgres: bool = False) -> str:
    """Point Django at a scratch database, migrate it, and return its URL."""
    url = scratch_database_url(name, postgres)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DATA_DIR", f"/tmp/recall-bench-data-{name}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q)) if samples else 0.0


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95/mean in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p95_ms": round(percentile(seconds, 95) * 1000, 3),
        "mean_ms": round(float(np.mean(seconds)) * 1000, 3) if seconds else 0.0,
        "n": len(seconds),
    }


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        print("  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def machine() -> dict:
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **payload}
    payload.setdefault("machine", machine())
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(REPO_DIR)}")
    return path


def cached_embeddings(texts: list[str], name: str) -> np.ndarray:
    """Batch embeddings of `texts` with the app's embedder, kept under DATA_DIR between runs.

    Kept in chunks of CACHE_CHUNK texts, each file keyed by the embedder's name and the hash of
    its texts: another embedder or changed texts are embedded afresh, and a run stopped half way
    keeps the chunks it finished.
    """
    from django.conf import settings

    from memories import embeddings

    folder = settings.DATA_DIR / "bench-embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    chunks, embedded = [], 0
    for start in range(0, len(texts), CACHE_CHUNK):
        chunk = texts[start : start + CACHE_CHUNK]
        digest = hashlib.sha256("\n".join(chunk).encode()).hexdigest()[:16]
        path = folder / f"{name}-{embeddings.embedder_name()}-{digest}.npy"
        if path.exists():
            chunks.append(np.load(path))
            continue
        chunks.append(embeddings.embed_texts(chunk))
        np.save(path, chunks[-1])
        embedded += len(chunk)
        if len(texts) > CACHE_CHUNK:
            print(f"  embedded {start + len(chunk)}/{len(texts)} texts", flush=True)
    if embedded:
        elapsed = time.perf_counter() - started
        print(f"embedded {embedded} of {len(texts)} texts in {elapsed:.0f} s (cached in {folder})")
    return np.concatenate(chunks) if chunks else np.zeros((0, embeddings.DIMENSIONS), np.float32)
