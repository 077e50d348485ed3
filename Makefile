# Two commands on a fresh machine: `make run` and `make test`. Everything else
# (the environment, uv, system packages such as ffmpeg) is bootstrapped here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP := .bootstrap
VENV := .venv
UV := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP)/bin/uv)
BIN := $(VENV)/bin
NODE_MODULES := node_modules
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install dev-install system-deps run test lint format typecheck imports config-check contracts-lint breaking generate drift gates check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The codegen's Node tools (openapi-typescript, tsc), exactly as package-lock.json pins them.
# Only the generator needs them, so `make run` does not.
$(NODE_MODULES)/.installed: package.json package-lock.json
	@bash ci/system-deps.sh node
	npm ci --no-audit --no-fund
	@touch $@

system-deps: ## Install system packages (ffmpeg) when absent
	@bash ci/system-deps.sh

install: $(VENV)/.synced system-deps ## Create .venv from the lock file and install system packages

dev-install: install $(NODE_MODULES)/.installed ## install, plus the generator's Node tools and the test servers
	@bash ci/system-deps.sh test

run: install ## Serve the platform on 127.0.0.1:8000 (vvtv up)
	$(BIN)/vvtv up

test: dev-install ## Run the test suite (PostgreSQL-backed tests included)
	@bash ci/ensure-postgres.sh
	$(BIN)/pytest

lint: dev-install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev-install ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: dev-install ## mypy --strict on codegen, runtime, lab, generated and the CLI
	$(BIN)/mypy

imports: dev-install ## import-linter: the boundaries of DESIGN.md section 2
	$(BIN)/lint-imports

config-check: dev-install ## Validate the manifests, every cost tier
	$(BIN)/vvtv config validate

contracts-lint: dev-install ## Lint the contracts: documents, examples, project rules
	$(BIN)/vvtv contracts lint

breaking: dev-install ## Exit 1 on a breaking change since the newest released contracts
	$(BIN)/vvtv contracts breaking

generate: dev-install ## Regenerate generated/ from the contracts
	$(BIN)/vvtv codegen

drift: dev-install ## Exit 1 when generated/ is stale
	$(BIN)/vvtv codegen --check

gates: lint typecheck imports config-check contracts-lint breaking drift ## The CI gates besides the tests

check: test gates ## Everything CI runs

clean: ## Remove the environments and caches (var/ is kept)
	rm -rf $(VENV) $(BOOTSTRAP) $(NODE_MODULES) .mypy_cache .ruff_cache .pytest_cache .hypothesis
