# Two commands on a fresh machine: `make report` and `make test`. Both create .venv when missing.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= default
JOBS    ?=
PORT    ?= 8000

# Offline data: use $LABJOURNAL_DATA when set, else ../shared/data when it exists beside the project.
ifeq ($(LABJOURNAL_DATA),)
  ifneq ($(wildcard ../shared/data),)
    export LABJOURNAL_DATA := $(abspath ../shared/data)
  endif
endif

RUN_FLAGS := --profile $(PROFILE) $(if $(JOBS),--jobs $(JOBS),)

.PHONY: report run render site pdf serve preview publish test lint format clean distclean bench docs schemas

$(STAMP): pyproject.toml experiments/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[dev]" -r experiments/requirements.txt
	@touch $@

report: $(STAMP)         ## run the experiments, render the journal, build site + PDF
	$(BIN)/labjournal report $(RUN_FLAGS)

run: $(STAMP)            ## only execute the notebooks (cached runs are skipped)
	$(BIN)/labjournal run $(RUN_FLAGS)

render: $(STAMP)
	$(BIN)/labjournal render

site: $(STAMP) render    ## build only the website into _site/
	$(BIN)/labjournal build --only site

pdf: $(STAMP) render     ## build only _site/journal.pdf
	$(BIN)/labjournal build --only pdf

serve: $(STAMP)          ## serve the built site on http://127.0.0.1:$(PORT)/
	$(BIN)/labjournal serve --port $(PORT)

preview: $(STAMP)        ## build, serve on http://127.0.0.1:$(PORT)/ and rebuild on every save
	$(BIN)/labjournal preview --port $(PORT) --profile $(PROFILE)

publish: $(STAMP)        ## commit _site/ to the gh-pages branch (pushed where a remote is set)
	$(BIN)/labjournal publish gh-pages

test: $(STAMP)           ## unit tests and the end-to-end test of the quick profile
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests experiments bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy  # src/, as [tool.mypy] in pyproject.toml says

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests experiments bench

schemas: $(STAMP)        ## the JSON Schemas of journal.yml and claims.yml, from the models (here and in the scaffold)
	$(BIN)/python -m labjournal.authoring.schemas schemas
	$(BIN)/python -m labjournal.authoring.schemas src/labjournal/scaffold/schemas

docs: $(STAMP) schemas   ## the documentation site into _site-docs/: reference pages from the code, --strict
	$(BIN)/python docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:                   ## remove everything `make report` produced (results included)
	rm -rf _build _build.tmp _build-* _site _site-* results .labjournal .labjournal-scratch

distclean: clean
	rm -rf $(VENV)

bench: $(STAMP)  ## the six benchmark figures of docs/BENCHMARKS.md (about 30 minutes on 2 cores)
	$(BIN)/python bench/bench.py --profile $(PROFILE)
