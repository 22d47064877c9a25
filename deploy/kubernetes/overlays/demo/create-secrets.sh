#!/usr/bin/env bash
# The demo overlay's Secrets, with random values made here, at deploy time: nothing in the repository
# holds a value. Creates the namespace when it is missing. Secrets that exist already are left as
# they are: the demo's PostgreSQL keeps the password it was first started with.
# Usage: deploy/kubernetes/overlays/demo/create-secrets.sh [namespace]   (default: qinkefu-demo)
set -euo pipefail
namespace=${1:-qinkefu-demo}
command -v kubectl >/dev/null 2>&1 || { echo "error: kubectl is not installed" >&2; exit 1; }

# 48 hexadecimal characters (192 random bits): longer than the 32 characters the processes require,
# and safe inside a database URL.
random_value() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

# The values go through a file readable by this user only, never through a command line.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"

if kubectl -n "$namespace" get secret qinkefu-secrets >/dev/null 2>&1; then
  echo "secret qinkefu-secrets exists in $namespace: kept"
else
  {
    echo "BUYER_TOKEN_SECRET=$(random_value)"
    echo "SHOP_API_KEY=$(random_value)"
    echo "RASA_AUTH_TOKEN=$(random_value)"
    echo "ACTION_SERVER_SECRET=$(random_value)"
    echo "MODEL_SERVER_TOKEN=$(random_value)"
  } > "$work/secrets.env"
  kubectl -n "$namespace" create secret generic qinkefu-secrets --from-env-file="$work/secrets.env"
fi

if kubectl -n "$namespace" get secret qinkefu-database >/dev/null 2>&1; then
  echo "secret qinkefu-database exists in $namespace: kept"
else
  password=$(random_value)
  {
    echo "POSTGRES_PASSWORD=$password"
    echo "TRACKER_PG_PASSWORD=$password"
    echo "ORDERS_DB_URL=postgresql://qinkefu:$password@qinkefu-postgres:5432/qinkefu_shop"
    echo "GATEWAY_DB_URL=postgresql://qinkefu:$password@qinkefu-postgres:5432/qinkefu_gateway"
  } > "$work/database.env"
  kubectl -n "$namespace" create secret generic qinkefu-database --from-env-file="$work/database.env"
fi

if kubectl -n "$namespace" get secret qinkefu-event-broker >/dev/null 2>&1; then
  echo "secret qinkefu-event-broker exists in $namespace: kept"
else
  # The demo's RabbitMQ creates its user with RABBITMQ_DEFAULT_PASS; Rasa and the event consumer log
  # in with EVENT_BROKER_PASSWORD: the same value.
  password=$(random_value)
  {
    echo "EVENT_BROKER_PASSWORD=$password"
    echo "RABBITMQ_DEFAULT_PASS=$password"
  } > "$work/event-broker.env"
  kubectl -n "$namespace" create secret generic qinkefu-event-broker --from-env-file="$work/event-broker.env"
fi
