PYTHON ?= python3
GO ?= go
VENV := .venv
PY := $(VENV)/bin/python
# The demo's outputs; override with `make demo OUT=/some/dir`.
OUT ?= out/demo

# Beam's portable runner (Prism) at the Beam version pinned in requirements.txt, built from
# the Go module proxy; the portable-runner tests skip without it (.ci/run builds it first).
BEAM_VERSION := $(shell sed -n 's/^apache-beam\(\[.*\]\)\?==//p' requirements.txt)
PRISM := .cache/prism/prism-$(BEAM_VERSION)
# The GCS emulator the object-storage tests run against (tests/gcs_emulator.py), from the Go module proxy.
FAKE_GCS_VERSION := 1.56.1
FAKE_GCS := .cache/fake-gcs-server/fake-gcs-server-$(FAKE_GCS_VERSION)

.PHONY: demo test venv clean bench prism fake-gcs check-python check-go

venv: $(VENV)/.installed

# One line naming what is missing and how to point at it, instead of a failure further on.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "error: the project needs Python 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo missing). Point at one: make venv PYTHON=python3.11"; exit 1; }

check-go:
	@command -v $(GO) >/dev/null || { \
	  echo "error: building Beam's Prism runner and the GCS emulator needs Go; '$(GO)' is not on the PATH. Install it, or point at one: make prism GO=/path/to/go"; exit 1; }

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(MAKE) --no-print-directory check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

prism: $(PRISM)

$(PRISM):
	@$(MAKE) --no-print-directory check-go
	mkdir -p $(@D)
	GOBIN=$(CURDIR)/$(@D)/bin GOFLAGS=-buildvcs=false $(GO) install github.com/apache/beam/sdks/v2/go/cmd/prism@v$(BEAM_VERSION)
	mv $(@D)/bin/prism $@

fake-gcs: $(FAKE_GCS)

$(FAKE_GCS):
	@$(MAKE) --no-print-directory check-go
	mkdir -p $(@D)
	GOBIN=$(CURDIR)/$(@D)/bin GOFLAGS=-buildvcs=false $(GO) install github.com/fsouza/fake-gcs-server@v$(FAKE_GCS_VERSION)
	mv $(@D)/bin/fake-gcs-server $@

demo: venv
	OUT=$(OUT) PY=$(PY) bash scripts/demo.sh

test: venv
	$(PY) -m pytest -q -n 2 --dist loadfile tests

clean:
	rm -rf out
