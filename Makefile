# Set-up and everyday commands. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench mutation scale-out scale-out-stop

# torch goes first and pinned: this CPU build is on the machine, a plain `torch` pulls CUDA (GBs).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet '.[dev]'
	touch $@

install: $(VENV)/.installed

# A private settings file for this checkout: debug on, a random secret key.
.env:
	printf 'DEBUG=true\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@

# Without REDIS_URL the server runs two task workers in threads (config/task_workers.py): two,
# so one hung extraction never holds up the rest. Every process loads the embedding model as it
# starts; "ready" is printed once the server and its workers have.
run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py export_embedding_model
	$(BIN)/python manage.py runserver 127.0.0.1:8000 & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py wait_until_warm http://127.0.0.1:8000; \
	wait $$server

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks (not part of the tests): each prints a table and writes bench/results/*.json.
bench: install
	$(BIN)/python bench/embedding_compare.py
	$(BIN)/python bench/query_embedding.py
	$(BIN)/python bench/multilingual_embedder.py
	$(BIN)/python bench/locomo_retrieval.py
	$(BIN)/python bench/retrieval_speed.py
	$(BIN)/python bench/recall_quality.py
	$(BIN)/python bench/streaming_load.py
	$(BIN)/python bench/markdown_render.py
	$(BIN)/python bench/extraction_queue.py
	$(BIN)/python bench/memory_visible_latency.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/plots.py

# Several Daphne processes behind nginx, several workers, PostgreSQL and Redis (deploy/scale-out).
scale-out: install
	deploy/scale-out start

scale-out-stop:
	deploy/scale-out stop

# Mutation testing of ownership, deletion, prompt framing and recall ([tool.mutmut] in pyproject).
mutation: install
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results
