# live360: two commands matter on a fresh machine.
#   make demo   runs everything locally (origin + test source + player), no cloud, no cluster
#   make test   installs what the tests need, builds, lints and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help deps system-deps test-services node-deps build lint test demo clean

help:
	@echo "make demo   - run live360 locally: RTMP ingest, ABR HLS, test source and player"
	@echo "make test   - install dependencies, build, lint and run every test"

# System packages the runtime and tests use. Installed only when missing; needs root (CI runs as root).
system-deps:
	@bash scripts/install-system-deps.sh

node-deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json $(wildcard */package.json */*/package.json)
	$(NPM) ci --no-audit --no-fund
	@touch $@

build: node-deps
	$(NPM) run build

lint: node-deps
	$(NPM) run lint

# Real S3 (versitygw) and SQS (ElasticMQ) servers for the storage, queue and VOD tests; built once into a cache.
test-services:
	@bash test/services/install.sh

test: system-deps test-services build lint
	$(NPM) test

demo: node-deps build
	node packages/cli/dist/main.js local

clean:
	$(NPM) run clean
	rm -rf .live360
