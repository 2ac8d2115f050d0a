PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The demo's outputs; override with `make demo OUT=/some/dir`.
OUT ?= out/demo

.PHONY: demo test venv clean bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

demo: venv
	OUT=$(OUT) PY=$(PY) bash scripts/demo.sh

test: venv
	$(PY) -m pytest -q tests

clean:
	rm -rf out
