# cd4ml-lab: every target creates the virtualenv itself on first use.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEPS   := pyproject.toml projects/cd4ml-demo/requirements.txt

.PHONY: help venv lab-up lab-down lab-status lab-doctor test test-containers test-e2e lint check-fixtures bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /	/' | expand -t 17

$(STAMP): $(DEPS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "cd4ml-lab needs Python >= 3.11 (set PYTHON=python3.11 or newer)" >&2; exit 3; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing pinned dependencies into $(VENV) (first run takes a few minutes)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -r projects/cd4ml-demo/requirements.txt
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the pinned dependencies

lab-up: venv ## start the whole lab (Jenkins, Gitea, MinIO, dind), seeded; idempotent
	$(BIN)/lab up

lab-down: venv ## stop the lab, keep its data (VOLUMES=1 deletes the data too)
	$(BIN)/lab down $(if $(VOLUMES),--volumes,)

lab-status: venv ## health of each service, URLs, seeded jobs and last builds
	$(BIN)/lab status

lab-doctor: venv ## can this machine run the lab? what to fix
	$(BIN)/lab doctor

# Test files run in parallel (one worker per core); a file's tests stay on one worker
# because the integration and scenario suites share expensive per-file set-up. The
# slowest files go first (pyproject.toml: testpaths, --no-loadscope-reorder).
test: venv ## unit + local integration tests and scenarios (no Docker needed)
	$(BIN)/pytest -n auto --dist loadfile

test-containers: venv ## Gitea, MinIO, SeaweedFS and the Jenkins image, each alone in a container (needs Docker)
	$(BIN)/pytest tests/containers

test-e2e: venv ## end-to-end tests and scenarios against the running lab (needs Docker)
	$(BIN)/pytest tests/e2e
	$(BIN)/pytest scenarios --lab-driver=stack

lint: venv ## ruff, shellcheck, hadolint and `lab lint` on the shipped Jenkinsfiles
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	git ls-files -z '*.sh' | xargs -0 -r $(BIN)/shellcheck
	git ls-files -z '*Dockerfile' | xargs -0 -r -n1 $(BIN)/hadolint
	$(BIN)/lab lint

check-fixtures: venv ## API fixtures match upstream: Gitea specs (SPECS="--spec F ..."), Jenkins sources and the declarative AST schema (MIRRORS=DIR)
	$(BIN)/python scripts/derive_gitea_api_fixture.py --check $(SPECS)
	$(BIN)/python scripts/derive_jenkins_api_fixture.py --check $(if $(MIRRORS),--mirrors $(MIRRORS),)
	$(BIN)/python scripts/derive_pipeline_ast_schema.py --check $(if $(MIRRORS),--mirrors $(MIRRORS),)

bench: venv ## DVC cache sync cold vs warm, repro no-op vs full; a Jenkinsfile build vs its scripts alone; the training chain run twice
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/chain_bench.py

clean: ## remove the virtualenv and caches (not the lab's data or secrets)
	rm -rf $(VENV) .pytest_cache .ruff_cache
