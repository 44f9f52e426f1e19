# One command per routine task. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
NGUON := $(BIN)/nguon
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench worker setup system-run system-test system-bench messages migrate demo centre clean

$(STAMP): pyproject.toml requirements.lock agent/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e . -e ./agent
	touch $(STAMP)

setup: $(STAMP) messages

system-run:
	./scripts/system-packages.sh run

system-test:
	./scripts/system-packages.sh test

# As root, installs what the benchmarks measure against (nginx, wrk, Mosquitto, PostgreSQL, Redis); otherwise it
# prints the apt-get command and stops.
system-bench:
	./scripts/system-packages.sh bench

messages: $(STAMP) system-run
	cd nguon && ../$(NGUON) compilemessages -v0

migrate: setup
	$(NGUON) migrate --no-input -v1

demo: migrate
	$(NGUON) demo

run: system-run migrate demo
	$(NGUON) serve --host $(HOST) --port $(PORT) --with-worker --with-devices --with-icecast

# A demo central instance on port 8101 (var/centre), paired as the province's parent: see docs/central.md.
centre: system-run migrate demo
	./scripts/centre.sh

worker: setup
	$(NGUON) worker

test: system-test setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(NGUON) makemigrations --check --dry-run

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: system-bench setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
