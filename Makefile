# live360: two commands matter on a fresh machine.
#   make demo   runs everything locally (origin + test source + player), no cloud, no cluster
#   make test   installs what the tests need, builds, lints and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help deps system-deps test-services cluster-binaries node-deps build lint test demo cluster cluster-down test-cluster clean

help:
	@echo "make demo   - run live360 locally: RTMP ingest, ABR HLS, test source and player"
	@echo "make test   - install dependencies, build, lint and run every test"
	@echo "make cluster - start a local Kubernetes control plane with fake Spot nodes (builds it on first use)"

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

# The control plane the operator tests start (kube-apiserver, controller-manager, scheduler, etcd, kwok),
# built from the Go module proxy into ~/.cache/live360/k8s once (~10 min on 2 cores; needs Go >= 1.24).
cluster-binaries:
	@bash test/cluster/build.sh >/dev/null

# helm for the chart tests (Debian has none): a pinned version built from the Go module proxy, cached.
.PHONY: helm-binary
helm-binary:
	@bash test/helm/build.sh >/dev/null

# promtool for the chart's alert rules (`promtool check rules`/`test rules`) and dashboard queries:
# Prometheus 3.16 built from the Go module proxy, cached (~2 min on 2 cores, first run only).
.PHONY: promtool-binary
promtool-binary:
	@bash test/promtool/build.sh >/dev/null

# The kind stage runs last, alone: a real cluster with real pods needs the machine's two cores.
# The fault tests report their cases to test-artifacts/fault-matrix/ (cleared first, so no stale
# case counts); the report after jest fails when a listed case did not report (`make faults`).
test: system-deps test-services cluster-binaries helm-binary promtool-binary build lint
	node test/kit/dist/fault-matrix.js --reset
	@bash scripts/in-scratch-tmpdir.sh $(NPM) test
	node test/kit/dist/fault-matrix.js
	@bash test/kind/test.sh

# The RTMP ingest fuzzed for longer than `make test` does (40 cases per generator there): FUZZ_CASES
# (default 1000) seeded cases of each generator from FUZZ_SEED (default: the current time, printed;
# a failure names the seed that reproduces it and saves its bytes in test-artifacts/fuzz/), against
# a real origin beside a healthy stream, after the regression corpus (workloads/origin/fuzz-corpus).
# FUZZ_REPLAY=<file or directory> replays only those saved inputs.
.PHONY: fuzz
fuzz: system-deps build
	LIVE360_FUZZ_CASES=$${FUZZ_CASES:-1000} LIVE360_FUZZ_SEED=$${FUZZ_SEED:-$$(date +%s)} LIVE360_FUZZ_REPLAY=$${FUZZ_REPLAY:-} NODE_OPTIONS=--experimental-vm-modules \
		npx jest workloads/origin/dist/fuzz.test.js

# The fault matrix alone (issue 13): the fault tests (each case beside a healthy stream), then the
# report — case | fault | healthy stream | lost | survived — in test-artifacts/fault-matrix/report.md
# and, when every listed case reported, bench/results/fault-matrix.md. ~3 minutes after the build.
.PHONY: faults
faults: system-deps test-services build
	node test/kit/dist/fault-matrix.js --reset
	NODE_OPTIONS=--experimental-vm-modules npx jest $$(node test/kit/dist/fault-matrix.js --test-files)
	node test/kit/dist/fault-matrix.js --publish bench/results/fault-matrix.md

# A real origin fed for SOAK_SECONDS (3600) by an encoder reconnecting every SOAK_RECONNECT_SECONDS (180):
# RSS, descriptors and segment numbering over time in bench/results/soak.{json,md,svg}. `make test` runs 80 s of it.
.PHONY: soak
soak: system-deps build
	node bench/dist/soak.js

# A real kube-apiserver/controller-manager/scheduler + etcd + kwok nodes on loopback (docs/kubernetes-version.md).
cluster:
	@bash test/cluster/up.sh

cluster-down:
	@bash test/cluster/down.sh

# CRD YAML from the typed API (operator/src/api/v1alpha1); a test fails when crds/ is stale.
.PHONY: crds
crds: build
	$(NPM) run generate -w @live360/operator

# Only the control plane's own test (the operator's cluster tests run in `make test`).
test-cluster: cluster-binaries build
	NODE_OPTIONS=--experimental-vm-modules npx jest --testMatch '**/test/kit/dist/cluster.itest.js'

# Container images (issue 7): one per workload plus the operator, built from the repository root and
# tagged with the operator's version (the tag its default image references and the chart's appVersion
# use). `make images-push REGISTRY=<registry>/<path>` pushes them; the Dockerfiles' rules are checked
# by test/images without Docker. test/kind/images.sh builds them (BuildKit), on the Dockerfiles'
# pinned bases or, where no container registry is reachable, on local stand-ins built from package
# registries (LIVE360_IMAGE_SOURCE=upstream|local|auto, default auto); without a Docker engine it
# starts the repository's own (test/kind/docker.sh) and prints the DOCKER_HOST to reach it.
REGISTRY ?= ghcr.io/live360
IMAGE_VERSION = $(shell node -p "require('./operator/package.json').version")
IMAGE_REVISION = $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
IMAGES := origin=workloads/origin edge=workloads/edge vod-worker=workloads/vod-worker test-source=workloads/test-source operator=operator

.PHONY: images images-push
images:
	@REGISTRY="$(REGISTRY)" IMAGE_VERSION="$(IMAGE_VERSION)" IMAGE_REVISION="$(IMAGE_REVISION)" bash test/kind/images.sh $(IMAGES)

images-push: images
	@set -e; for image in $(IMAGES); do docker push "$(REGISTRY)/$${image%%=*}:$(IMAGE_VERSION)"; done

# live360 on a local kind cluster (test/kind; README "Run on kind"): a cluster with Spot/on-demand
# labelled nodes, the images, in-cluster S3 and SQS, the chart and the demo LiveEvent. kind-e2e runs
# the end-to-end suite on it (player, failover drills, autoscaling, VOD); kind-down deletes it and
# the Docker engine the project started, if it started one. Without a container registry the node
# image and the base images are built locally (LIVE360_IMAGE_SOURCE=upstream|local|auto).
.PHONY: kind-up kind-e2e kind-down kind-test
kind-up:
	@bash test/kind/up.sh

kind-e2e: build
	@bash test/kind/e2e.sh

# What make test runs: kind-up, kind-e2e and kind-down on a fresh cluster, timed.
kind-test: build
	@bash test/kind/test.sh

kind-down:
	@bash test/kind/down.sh

demo: node-deps build
	node packages/cli/dist/main.js local

# The origin benchmark (issue 2): floor FFmpeg vs live360 vs the nginx-rtmp reference stack, ~6 minutes.
# BENCH_SECONDS=20 for a smoke run; results in bench/results/origin.{json,md,svg}.
.PHONY: bench-origin
bench-origin: system-deps build
	node bench/dist/origin.js

# The player budget (issue 5): bundle size and time to first frame from a local origin in headless Chromium.
.PHONY: bench-player
bench-player: system-deps build
	node bench/dist/player.js

# The live-to-VOD benchmark (issue 3): the worker's FFmpeg alone vs publish end → VOD master on
# versitygw + ElasticMQ, worker CPU per media second, and a worker SIGKILLed mid-way (vs the
# reference's 7200 s visibility timeout), ~6 minutes. BENCH_SECONDS=20 for a smoke run; results in bench/results/vod.{json,md}.
.PHONY: bench-vod
bench-vod: system-deps test-services build
	node bench/dist/vod.js

# The operator benchmark (issue 6): BENCH_EVENTS (200) LiveEvents created at once on the local control
# plane (make cluster's binaries; kwok nodes) → time to Ready p50/p99, operator RSS, API requests per
# event to converge and per minute at steady state (BENCH_STEADY_SECONDS, 60). Results in bench/results/operator.{json,md}.
.PHONY: bench-operator
bench-operator: build
	node bench/dist/operator.js

# The edge benchmark (issue 4): wrk on cached segments/playlists vs plain nginx, origin offload for
# 1000 simulated live viewers, failover stalls (SIGKILL, 404, hung host), live360's edge side by side
# with the reference edge config on the same nginx, ~10 minutes. Results in bench/results/edge.{json,md}.
.PHONY: bench-edge
bench-edge: system-deps build
	node bench/edge/dist/bench.js

# Viewer insight's cost (issue 16): BENCH_VIEWERS (1000) simulated viewers with CMCD and beacons
# through the edge for BENCH_SECONDS (60), against the same load without; the aggregates checked.
.PHONY: bench-viewers
bench-viewers: system-deps build
	node bench/edge/dist/insight-bench.js

# LL-HLS glass-to-glass latency (issue 15): one encoder stamping every frame with the time it
# was sent, to live360 (LL-HLS via the edge and from the origin, TS 1 s and 2 s) and MediaMTX
# (built from the Go module proxy, pinned) at once; hls.js in Chromium reads the stamps back.
bench-latency: system-deps build
	node bench/edge/dist/latency.js

# LL-HLS session starts (issue 15): BENCH_SESSIONS (10) fresh hls.js sessions per system, one at a
# time, on live360 LL-HLS (via the edge, from the origin) and MediaMTX: first frame, latency, stalls
# with hls.js's log before each. ~6 min; bench/results/ll-startup.md.
.PHONY: bench-ll-startup
bench-ll-startup: system-deps build
	node bench/edge/dist/ll-startup.js

# LL-HLS origin offload (issue 15): BENCH_VIEWERS (1000) simulated LL-HLS viewers through the edge,
# then straight to the origin; origin requests per part per variant. ~3 min; bench/results/ll-offload.md.
.PHONY: bench-ll-offload
bench-ll-offload: system-deps build
	node bench/edge/dist/ll-offload.js

# LL-HLS origin CPU (issue 15): an LL-HLS and a TS 1 s origin making the same transcoding ladder,
# BENCH_RUNS (3) × BENCH_SECONDS (40); the ratio's target is ≤ 1.10×. ~4 min; bench/results/ll-cpu.md.
.PHONY: bench-ll-cpu
bench-ll-cpu: system-deps build
	node bench/edge/dist/ll-cpu.js

clean:
	$(NPM) run clean
	rm -rf .live360
