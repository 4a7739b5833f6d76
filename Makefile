# Mujun: `make demo` and `make test` work from a fresh clone with only the package registries.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO ?= demo
DEMO_YEARS ?= 2021-2023
DEMO_N ?= 112879

.PHONY: install test lint demo demo-build demo-publish demo-analyses bench clean browser-deps demo-users

$(STAMP): pyproject.toml package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# Front-end libraries (ECharts, htmx) from the npm registry, served by the app from node_modules.
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline)
# with a CJK font so Chinese renders; installed when missing (needs root, as on CI).
browser-deps:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium fonts-noto-cjk)
	fc-list :lang=zh | grep -q . || (apt-get update && apt-get install -y fonts-noto-cjk)

# pytest exits 5 when it collects no tests; make treats that as a failure like any other.
test: lint browser-deps
	$(VENV)/bin/pytest -n 2 -q

demo: demo-build
	# Foreground server (one writer); Ctrl-C stops it.
	$(VENV)/bin/mujun serve --db $(DEMO)/mujun.duckdb --host 127.0.0.1 --port 8000

# Everything but serving: data, ingest, validation, one run per year, publications, accounts.
demo-build: install
	$(VENV)/bin/mujun demo-data $(DEMO)/data --enterprises $(DEMO_N) --years $(DEMO_YEARS) --format mixed
	rm -rf $(DEMO)/mujun.duckdb $(DEMO)/mujun.duckdb.wal $(DEMO)/mujun-files
	for dir in $(DEMO)/data/20??; do \
		$(VENV)/bin/mujun ingest $$dir --year $$(basename $$dir) --db $(DEMO)/mujun.duckdb || exit $$?; \
	done
	# validate exits 1 when there are errors; the demo data carries injected defects on purpose.
	$(VENV)/bin/mujun validate --db $(DEMO)/mujun.duckdb --out $(DEMO)/issues.xlsx --show 10; \
		rc=$$?; test $$rc -le 1
	for dir in $(DEMO)/data/20??; do \
		$(VENV)/bin/mujun evaluate --year $$(basename $$dir) --rules rules/zhejiang-default.yaml \
			--db $(DEMO)/mujun.duckdb || exit $$?; \
	done
	$(MAKE) demo-publish
	$(MAKE) demo-analyses
	$(MAKE) demo-users

# Publication as a bureau does it, through the same code as the web (mujun runs publish):
# every year but the last was published the June after (a 7-day window, recorded afterwards
# with --historical) and is final; the last year opens its objection window today.
DEMO_BASIS = 浙江省人民政府关于深化"亩均论英雄"改革的指导意见|浙政发〔2018〕5号
DEMO_CONTACT = 0571-87051234
demo-publish: install
	last=$$(ls -d $(DEMO)/data/20?? | tail -1 | xargs basename); \
	for dir in $(DEMO)/data/20??; do \
		y=$$(basename $$dir); next=$$((y + 1)); \
		if [ $$y = $$last ]; then when=""; else when="--historical --start $$next-06-05 --end $$next-06-11"; fi; \
		$(VENV)/bin/mujun runs publish --year $$y --db $(DEMO)/mujun.duckdb $$when \
			--basis '$(DEMO_BASIS)' \
			--basis "关于开展$$y年度全省工业企业亩均效益综合评价工作的通知|浙经信（演示）〔$$next〕12号" \
			--contact $(DEMO_CONTACT) || exit $$?; \
	done
	$(VENV)/bin/mujun runs settle --db $(DEMO)/mujun.duckdb
	$(VENV)/bin/mujun runs list --db $(DEMO)/mujun.duckdb

# What the published runs lead to, so their pages are not empty: the policy ledger of every year
# (in year order, since consecutive D years count from earlier published runs), the yearly
# low-efficiency list, and for the last year the robustness of its classes (a short Monte Carlo,
# no Sobol analysis) with every firm's path to the next class.
demo-analyses: install
	last=$$(ls -d $(DEMO)/data/20?? | tail -1 | xargs basename); \
	for dir in $(DEMO)/data/20??; do \
		y=$$(basename $$dir); \
		$(VENV)/bin/mujun policy apply E$$y-0001 --policy rules/policies/zhejiang-default.yaml \
			--db $(DEMO)/mujun.duckdb || exit $$?; \
		$(VENV)/bin/mujun loweff identify --year $$y --db $(DEMO)/mujun.duckdb || exit $$?; \
	done; \
	$(VENV)/bin/mujun robustness E$$last-0001 --draws 200 --sobol-n 0 --db $(DEMO)/mujun.duckdb

# One account per role with fixed demo passwords (no forced change); re-running reuses them.
demo-users: install
	$(PY) -m mujun.web.demo --db $(DEMO)/mujun.duckdb --url http://127.0.0.1:8000

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/evaluate.py
	$(PY) bench/web.py
	$(PY) bench/notify.py
	$(PY) bench/policy.py

clean:
	rm -rf $(DEMO) .pytest_cache .ruff_cache .hypothesis
