# Kintsugi developer commands. `make up` runs the system, `make test` tests it; both
# install what they need first (virtualenv, locked dependencies, Kafka jars, buf).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
UV_VERSION  := 0.13.8
TOOLS       := .tools
UV          := $(TOOLS)/bin/uv
VENV        := .venv
PY          := $(VENV)/bin/python
KAFKA       := tools/kafka/kafka.sh
PYTEST_ARGS ?=
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE   := $(TOOLS)/bin/kustomize
KUBECONFORM_VERSION := v0.8.0
KUBECONFORM := $(TOOLS)/bin/kubeconform
SMTP_SINK   := $(TOOLS)/postfix/bin/smtp-sink
SMTP_SINK_LIBS := $(TOOLS)/postfix/lib
TOPICS_MANIFEST := deploy/k8s/components/strimzi-topics/topics.yaml
USERS_MANIFEST  := deploy/k8s/components/strimzi-users/users.yaml
PROMETHEUS_RULE := deploy/k8s/components/monitoring/prometheus-rule.yaml
DASHBOARDS_DIR  := deploy/monitoring/grafana/dashboards
K8S_SCHEMAS := deploy/k8s/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json

.PHONY: help install proto proto-check lint test test-unit test-integration test-e2e \
        kafka kafka-down topics up down bench chaos clean k8s-topics k8s-check prometheus-tools \
        ghz smtp-sink smtp-sink-tool word-model fuzz

help:  ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON_BOOT) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	touch $@

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed  ## virtualenv + locked deps + buf + Kafka jars
	$(KAFKA) fetch

proto: $(VENV)/.installed  ## regenerate Python code from protos/
	tools/proto.sh generate

proto-check: $(VENV)/.installed  ## fail if generated code drifted from protos/
	tools/proto.sh check

# Prometheus and promtool come from Debian's package (root on this kind of machine).
prometheus-tools:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  echo "installing Debian's prometheus package (promtool, prometheus)"; \
	  apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null; }

lint: install prometheus-tools  ## buf lint, generated-code drift, ruff, mypy, alert rules
	npx --no-install buf lint
	tools/proto.sh check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	promtool check rules deploy/monitoring/prometheus/alerts.yaml
	cd deploy/monitoring/prometheus && promtool test rules alerts.test.yaml

kafka: install  ## start the local Kafka broker (skipped when KAFKA_BOOTSTRAP_SERVERS is set)
	@if [ -n "$$KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  echo "kafka: using $$KAFKA_BOOTSTRAP_SERVERS"; \
	else \
	  $(KAFKA) start; \
	fi

topics: kafka  ## create the declared topics
	$(PY) -m kintsugi.common.bootstrap create-topics

kafka-down:
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(KAFKA) stop; fi

up: topics  ## run everything locally and follow sample complaints to their acknowledgement
	$(PY) -m tools.devstack.stack up

down:  ## stop everything `make up` started
	@if [ -x $(PY) ]; then $(PY) -m tools.devstack.stack down; fi
	@$(MAKE) --no-print-directory kafka-down

$(KUSTOMIZE):
	GOBIN=$(abspath $(dir $(KUSTOMIZE))) GOTOOLCHAIN=local go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(KUBECONFORM):
	GOBIN=$(abspath $(dir $(KUBECONFORM))) GOTOOLCHAIN=local go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

word-model: $(VENV)/.installed  ## retrain intake's word model from the labelled complaints (scikit-learn, for this run only)
	$(UV) run --quiet --with scikit-learn==1.9.1 python -m tools.train_word_model

k8s-topics: $(VENV)/.installed  ## re-render the generated manifests (topics, users, alerts, dashboards)
	$(PY) -m tools.render_topics --output $(TOPICS_MANIFEST)
	$(PY) -m tools.render_kafka_users --output $(USERS_MANIFEST)
	$(PY) -m tools.render_prometheus_rule --output $(PROMETHEUS_RULE)
	$(PY) -m tools.render_dashboards --output-dir $(DASHBOARDS_DIR)

k8s-check: $(VENV)/.installed $(KUSTOMIZE) $(KUBECONFORM)  ## generated manifests fresh; every overlay valid (kubeconform, strict)
	$(PY) -m tools.render_topics --check $(TOPICS_MANIFEST)
	$(PY) -m tools.render_kafka_users --check $(USERS_MANIFEST)
	$(PY) -m tools.render_prometheus_rule --check $(PROMETHEUS_RULE)
	$(PY) -m tools.render_dashboards --check-dir $(DASHBOARDS_DIR)
	@for overlay in deploy/k8s/overlays/*/; do \
	  echo "kustomize build $$overlay | kubeconform -strict"; \
	  $(KUSTOMIZE) build "$$overlay" | $(KUBECONFORM) -strict -summary \
	    -schema-location '$(K8S_SCHEMAS)' - || exit 1; \
	done

test: lint k8s-check $(SMTP_SINK)  ## lint, render manifests, then unit, integration (real Kafka) and e2e tests
	KUSTOMIZE=$(abspath $(KUSTOMIZE)) KUBECONFORM=$(abspath $(KUBECONFORM)) $(PY) -m pytest $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# The fuzz tests also run in `make test`, with the small default profile.
FUZZ_ARGS ?=
fuzz: kafka  ## property-based fuzzing of every decoder, consumer and gRPC method: >100,000 cases
	KINTSUGI_FUZZ=full $(PY) -m pytest tests/fuzz --timeout=3600 -q $(FUZZ_ARGS)

GHZ_VERSION := v0.121.0
GHZ         := $(TOOLS)/bin/ghz
$(GHZ):
	GOBIN=$(abspath $(TOOLS))/bin go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

ghz: $(GHZ)  ## install the gRPC load generator (Go proxy)

BENCH_E2E_ARGS ?=
BENCH_GRPC_ARGS ?=
BENCH_NOTIFIER_ARGS ?=
bench: kafka $(GHZ)  ## benchmarks with same-run baselines (domain, gRPC, end to end); writes bench-report.md
	{ $(PY) -m bench.sla_clocks $(BENCH_ARGS); echo; \
	  $(PY) -m bench.sla_runtime --json bench-report-sla-runtime.json; echo; \
	  $(PY) -m bench.sla_scale --json bench-report-sla-scale.json; echo; \
	  $(PY) -m bench.sla_faults --no-kill --json bench-report-sla-steady.json; echo; \
	  $(PY) -m bench.sla_faults --json bench-report-sla-faults.json; echo; \
	  $(PY) -m bench.sla_catchup --json bench-report-sla-catchup.json; echo; \
	  $(PY) -m bench.router_desk --json bench-report-router.json; echo; \
	  $(PY) -m bench.classification_eval --json bench-report-classification.json; echo; \
	  $(PY) -m bench.intake_grpc $(BENCH_GRPC_ARGS) --json bench-report-grpc.json; echo; \
	  $(PY) -m bench.e2e_throughput $(BENCH_E2E_ARGS) --json bench-report-e2e.json; echo; \
	  $(PY) -m bench.notifier_delivery $(BENCH_NOTIFIER_ARGS) --json bench-report-notifier.json; \
	} | tee bench-report.md

# Sizes from the environment: CHAOS_COMPLAINTS (10000), CHAOS_KILLS (100), CHAOS_MINUTES
# (30, how long complaints stream in), CHAOS_SEED, CHAOS_OUTAGES, CHAOS_BROKER_FAULTS=0.
CHAOS_ARGS ?=
chaos: install  ## kill services, restart and freeze a broker of its own, drop mail; check nothing lost or doubled
	$(PY) -m tools.chaos $(CHAOS_ARGS) --markdown chaos-report.md --json chaos-report.json

SMTP_SINK_PORT ?= 2526
smtp-sink-tool: $(SMTP_SINK)  ## unpack Postfix's smtp-sink from Debian's package into .tools (no mail service installed)

# Unpacked, not installed: installing postfix would configure and start a mail service.
$(SMTP_SINK):
	@mkdir -p $(TOOLS)/postfix && cd $(TOOLS)/postfix && rm -f postfix_*.deb && \
	  { apt-get download postfix >/dev/null 2>&1 || { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get download postfix >/dev/null 2>&1; }; } && \
	  rm -rf root bin lib && dpkg -x postfix_*.deb root && rm -f postfix_*.deb && mkdir -p bin && \
	  mv "$$(find root -type f -name smtp-sink)" bin/ && \
	  mv "$$(find root -type f -name 'libpostfix-global.so*' -printf '%h' -quit)" lib && rm -rf root && touch bin/smtp-sink

smtp-sink: $(SMTP_SINK)  ## Postfix smtp-sink for mail-failure drills: SMTP_SINK_ARGS="-r rcpt" 4xx, "-f data" 5xx, "-q data" drop, "-w 30" stall
	@bin=$$(command -v smtp-sink || echo $(SMTP_SINK)); \
	export LD_LIBRARY_PATH=$(SMTP_SINK_LIBS); \
	echo "smtp-sink on 127.0.0.1:$(SMTP_SINK_PORT) $(SMTP_SINK_ARGS)"; \
	user=$$([ "$$(id -u)" = 0 ] && echo "-u nobody"); \
	exec $$bin -c $$user $(SMTP_SINK_ARGS) 127.0.0.1:$(SMTP_SINK_PORT) 256

clean: down
	rm -rf $(VENV) $(TOOLS) node_modules .local tools/kafka/target
