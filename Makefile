# chartgen: the two commands of the README are `make build` and `make test`.
# Everything installs itself: a Python virtualenv (.venv), the verification tools and the
# Kubernetes control plane (.tools, cached by version).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RELEASE ?= queens
STAMP := $(VENV)/.installed

.PHONY: setup build test unit lint tools optdata e2e bench bench-compare docs check-generated clean help

help:
	@echo "make build    set up and build generated-charts/oaas (RELEASE=$(RELEASE))"
	@echo "make test     set up, install the tools, the control plane, a real node and its images, run every test"
	@echo "make lint     helm lint (3 and 4), helm template, kubeconform, ct lint, config programs on every release"
	@echo "make optdata RELEASE=R   generate chartgen/optdata/R (OpenStack option registries; network)"
	@echo "make e2e      the end-to-end tests on a real Kubernetes control plane"
	@echo "make e2e-real the real-pods tests: a real node runs the chart's containers (root)"
	@echo "make docs     regenerate docs/ from the code"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

build: setup
	$(BIN)/chartgen build --release $(RELEASE)

tools:
	bash tools/install-tools.sh

# The option registries `chartgen lint` validates OpenStack config files against, for one release
# (inputs in tools/optdata/$(RELEASE)/; installs the release's projects from PyPI, takes minutes).
optdata: setup
	bash tools/optdata.sh $(RELEASE)

include tools/e2e.mk

# Unit, bad-input, determinism and rendering tests (need the tools) and the end-to-end ones on
# kwok nodes, on TEST_WORKERS pytest-xdist workers (a file's tests on one worker: the kwok upgrade
# chains of test_helm_lifecycle.py share their control plane and run in order), at a lower priority
# beside the real pods (a real node, the stand-in images: root, see make e2e-real), which mostly
# wait; TEST_CONCURRENT=0 runs the two stages one after the other (tools/run-tests.sh).
TEST_WORKERS ?= 2
TEST_CONCURRENT ?= 1
test: setup tools control-plane node images
	TEST_WORKERS=$(TEST_WORKERS) TEST_CONCURRENT=$(TEST_CONCURRENT) REALPODS_SCOPE=$(REALPODS_SCOPE) bash tools/run-tests.sh

unit: setup
	$(BIN)/python -m pytest -m "not tools and not e2e"

lint: setup tools
	$(BIN)/chartgen lint --all-releases

e2e: setup tools control-plane
	$(BIN)/python -m pytest -m e2e

docs: setup
	$(BIN)/python -m chartgen.docs

# CI: the committed chart must be what the inputs compile to.
check-generated: setup
	$(BIN)/chartgen build --release $(RELEASE) --out .check-generated --quiet
	diff -r generated-charts/oaas .check-generated/oaas && rm -rf .check-generated || \
	  (rm -rf .check-generated; echo "generated-charts/ is stale: run make build and commit"; exit 1)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .check-generated

# Speed and size, against baselines measured in the same run (not part of `make test`).
bench: setup tools
	$(BIN)/python bench/bench.py

bench-compare: setup tools
	$(BIN)/python bench/bench.py --compare $(BASE)
