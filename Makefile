PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The demo's outputs; override with `make demo OUT=/some/dir`.
OUT ?= out/demo

# Beam's portable runner (Prism) at the Beam version pinned in requirements.txt, built from
# the Go module proxy; the portable-runner tests skip without it (.ci/run builds it first).
BEAM_VERSION := $(shell sed -n 's/^apache-beam==//p' requirements.txt)
PRISM := .cache/prism/prism-$(BEAM_VERSION)

.PHONY: demo test venv clean bench prism

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

prism: $(PRISM)

$(PRISM):
	mkdir -p $(@D)
	GOBIN=$(CURDIR)/$(@D)/bin GOFLAGS=-buildvcs=false go install github.com/apache/beam/sdks/v2/go/cmd/prism@v$(BEAM_VERSION)
	mv $(@D)/bin/prism $@

demo: venv
	OUT=$(OUT) PY=$(PY) bash scripts/demo.sh

test: venv
	$(PY) -m pytest -q tests

clean:
	rm -rf out
