# health_training — the targets people and CI both use.
#   make demo   generate three months of ETL data and run the whole graph end to end (dg launch)
#   make test   install and run the test suite
#   make dev    Dagster UI + daemon on http://127.0.0.1:3000 with this repo's dagster.yaml (dg dev)
#   make compose-smoke   build the images here and run the docker-compose stack's first run (root,
#               Docker engine; not part of `make test`; docker/README.md)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HEALTH_TRAINING_HOME ?= $(CURDIR)/var
export DAGSTER_HOME := $(HEALTH_TRAINING_HOME)/dagster
# Nothing may try the network: hub downloads fail at once instead of hanging.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export HF_EVALUATE_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DAGSTER_DISABLE_TELEMETRY := true
export PYTHONWARNINGS := ignore::UserWarning
# dg checks that it runs in the project's environment.
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
DG := $(BIN)/dg
DEMO_MONTHS ?= 2025-01:2025-03
DEMO_RANGE ?= 2025-01...2025-03

.PHONY: install demo test test-fast dev lint fmt bench clean dagster-home compose-smoke

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install dagster-home
	$(BIN)/health-training prepare-model smollm2-135m
	$(BIN)/health-training generate --months $(DEMO_MONTHS) --users 50 --seed 7
	$(DG) launch --assets 'raw_narratives,curated_narratives' --partition-range $(DEMO_RANGE)
	$(DG) launch --assets 'feedback_examples,training_dataset,openai_chat_dataset'
	$(BIN)/health-training dataset manifest
	$(DG) launch --assets 'lora_adapter,eval_report,emissions_report,registered_model'
	$(BIN)/health-training report

test: install
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

dev: install dagster-home
	$(DG) dev --host 127.0.0.1 --port 3000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(DG) check defs

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/curation.py
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/sensor_tick.py

compose-smoke: install
	docker/smoke/compose-smoke.sh

clean:
	rm -rf var .pytest_cache
