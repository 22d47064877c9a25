"""Every environment variable of the project, declared once: its name, type, default and meaning.

Every process reads its settings through this module (`Settings.from_env()`, `get(NAME)`), the
production profile derives its replicas' environment from it, child processes get their
environment from `child_environment()`, and `.env.example` is generated from it
(`python -m bot settings env-example > .env.example`; tests/test_settings.py checks that the file,
the code and the YAML files agree with the registry).

Rules: an empty value means the default; `${NAME}` in a default stands for that variable's value;
relative paths are relative to the project folder; secrets have no default.
"""

from __future__ import annotations

import os
import re
import secrets
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The longest buyer message, in characters: the widget (it gets the number from the gateway's
# /widget/strings), the gateway and every Rasa channel (REST included) cut or refuse longer text
# before any NLU runs. Defined here only.
MAX_MESSAGE_CHARS = 500

# Shared secrets. `make run` generates random ones per machine into var/secrets.env; the production
# profile takes them from the environment (or .env) and refuses default, empty or short ones.
SECRET_NAMES = (
    "BUYER_TOKEN_SECRET",
    "SHOP_API_KEY",
    "RASA_AUTH_TOKEN",
    "ACTION_SERVER_SECRET",
    "MODEL_SERVER_TOKEN",
    "EVENT_BROKER_PASSWORD",
)
# Rasa's Pika event broker writes the broker's password into an amqp:// URL as it is: only characters
# that need no escaping there.
URL_SAFE_SECRETS = ("EVENT_BROKER_PASSWORD",)
URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
MIN_SECRET_LENGTH = 32
KNOWN_DEFAULT_SECRETS = {
    "dev-only-secret-change-me",
    "dev-only-shop-key",
    "change-me",
    "changeme",
    "secret",
    "test-secret",
    "test-shop-key",
}


class SettingError(ValueError):
    """A variable with a value of the wrong type or out of range, or a name that is not declared."""


# -- the registry ---------------------------------------------------------------------------------

# What get() returns: str for text, host, url and secret; int for int and port (1 to 65535); float for
# number; bool for flag (1/0, true/false, yes/no, on/off); an absolute Path for path; a tuple of the
# comma-separated items for list.
TYPES = ("text", "host", "port", "int", "number", "flag", "path", "url", "list", "secret")


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # one of TYPES
    default: Optional[str]  # as written in .env; None: no default (secrets, values run-prod derives)
    meaning: str
    section: str
    minimum: Optional[float] = None  # the smallest value allowed
    above: Optional[float] = None  # values must be greater than this
    # Read by something other than this module (by Rasa from endpoints.yml, by a library): every
    # process of the project gets its default when it is not set (exported_defaults).
    exported: bool = False
    # No default of its own: who sets it (deploy/endpoints.prod.yml's values, set by run-prod).
    derived: str = ""


# (key, title, notes) in the order of .env.example.
SECTIONS: List[Tuple[str, str, str]] = [
    ("ports", "Addresses and ports", ""),
    ("files", "Files and databases", "The embedded profile keeps them under QKF_VAR_DIR."),
    ("shop", "Shop-editable data", ""),
    (
        "secrets",
        "Secrets",
        "`make run` generates random ones for this machine into var/secrets.env (mode 600) and every process "
        "and `python -m bot token B001` use them; set them here (or in the environment) to choose. "
        "`make run-prod` takes them only from the environment / .env and refuses to start when one is empty, "
        "a default or shorter than 32 characters; Python's secrets.token_urlsafe(32) makes a good one.",
    ),
    ("gateway", "Gateway", ""),
    (
        "model_server",
        "Model server",
        "python -m bot model-server: the model history's artifacts and the active model, which every Rasa "
        "replica pulls (endpoints.yml's models: url/token/wait_time_between_pulls). The production profile "
        "and the Kubernetes manifests run it; the embedded profile (make run) does without.",
    ),
    ("prod", "Production profile", "make run-prod and deploy/docker-compose.yml; deploy/README.md."),
    (
        "events",
        "Event stream (production profile)",
        "Rasa's Pika event broker publishes every conversation event to RabbitMQ (deploy/endpoints.prod.yml "
        "reads these); `python -m bot events` writes them once each into the gateway database's "
        "conversation_events table. `make run-prod` creates the virtual host and the user (with "
        "EVENT_BROKER_PASSWORD) with rabbitmqctl when RabbitMQ runs on this machine; elsewhere create them "
        "on the broker (deploy/README.md).",
    ),
    (
        "prod_endpoints",
        "Rasa's endpoints in the production profile",
        "deploy/endpoints.prod.yml reads them. `make run-prod` sets them from the variables above; on a "
        "cluster set them in the replicas' environment (deploy/docker-compose.yml).",
    ),
    ("process", "Processes and libraries", ""),
]

VARIABLES: Dict[str, Variable] = {
    declared.name: declared
    for declared in [
        # -- Addresses and ports
        Variable(
            "QKF_HOST",
            "host",
            "127.0.0.1",
            "Address the Rasa server, action server and gateway listen on (run-prod: where nginx serves the gateways)",
            "ports",
        ),
        Variable(
            "RASA_PORT",
            "port",
            "5005",
            "Rasa server: REST and shop channels, HTTP API (run-prod: nginx in front of the Rasa replicas)",
            "ports",
        ),
        Variable(
            "ACTION_PORT",
            "port",
            "5055",
            "Action server, called by Rasa through endpoints.yml (run-prod: nginx in front of the action servers)",
            "ports",
            exported=True,
        ),
        Variable(
            "GATEWAY_PORT",
            "port",
            "8000",
            "Gateway: demo shop pages, widget, socket.io, agent and trainer consoles (run-prod: nginx in front of the gateways)",
            "ports",
        ),
        # -- Files and databases
        Variable(
            "QKF_VAR_DIR", "path", "var", "The embedded profile's SQLite files, uploads, logs and generated secrets", "files"
        ),
        Variable(
            "ORDERS_DB_URL",
            "url",
            "sqlite:///${QKF_VAR_DIR}/shop.db",
            "Orders and catalogue database (SQLAlchemy URL; PostgreSQL: postgresql://user@127.0.0.1:5432/shop)",
            "files",
        ),
        Variable(
            "GATEWAY_DB_URL",
            "url",
            "sqlite:///${QKF_VAR_DIR}/gateway.db",
            "Gateway database: chat history, review queue, accounts, training jobs (SQLAlchemy URL)",
            "files",
        ),
        Variable(
            "RASA_TRACKER_DB",
            "path",
            "${QKF_VAR_DIR}/tracker.db",
            "Rasa's SQLite conversation store in the embedded profile (endpoints.yml)",
            "files",
            exported=True,
        ),
        Variable("UPLOADS_DIR", "path", "${QKF_VAR_DIR}/uploads", "Photos buyers send in the widget", "files"),
        Variable(
            "UPLOADS_RETENTION_DAYS",
            "number",
            "30",
            "Uploaded photos are deleted after this many days (0: kept)",
            "files",
            minimum=0,
        ),
        # -- Shop-editable data
        Variable(
            "SHOP_POLICY_FILE", "path", "data/shop/policy.yml", "Shop policy: shipping, couriers, returns, coupons, gift", "shop"
        ),
        Variable("SHOP_LEXICON_FILE", "path", "data/shop/lexicon.yml", "Colour, size and reason words, slang and emoji", "shop"),
        Variable("SHOP_SIZE_CHART_FILE", "path", "data/shop/size_chart.yml", "Size chart: height and weight to size", "shop"),
        Variable(
            "DEMO_SHOP_FILE",
            "path",
            "data/shop/demo_shop.yml",
            "The demo shop's catalogue, buyers and orders (python -m bot seed)",
            "shop",
        ),
        Variable(
            "JIEBA_DICTIONARY_DIR", "path", "data/dictionary", "jieba user dictionary of the spaCy pipeline (make nlp)", "shop"
        ),
        Variable("SPACY_MODEL_DIR", "path", "build/spacy_zh", "Where make nlp writes the spaCy zh pipeline", "shop"),
        Variable(
            "GATEWAY_STRINGS_FILE",
            "path",
            "data/shop/gateway_strings.yml",
            "Texts of the widget, the demo pages and the consoles",
            "shop",
        ),
        Variable(
            "ROUTING_POLICY_FILE",
            "path",
            "data/shop/routing.yml",
            "Which replies an agent approves before the buyer sees them",
            "shop",
        ),
        Variable(
            "TRAINER_PROJECT_DIR",
            "path",
            ".",
            "The shipped project (config.yml, data/, domain.yml) the trainer's edits, stored in the gateway "
            "database, are laid over for training; the command line's `python -m bot trainer` edits its files",
            "shop",
        ),
        Variable(
            "TRAINING_WORK_DIR",
            "path",
            "${QKF_VAR_DIR}/training",
            "Where the training worker exports the training data and writes the models it trains and their reports",
            "shop",
        ),
        Variable(
            "TRAINING_WORKER_POLL_SECONDS",
            "number",
            "5",
            "How often an idle training worker looks for a queued training job",
            "shop",
            above=0,
        ),
        # -- Secrets: no defaults
        Variable(
            "BUYER_TOKEN_SECRET",
            "secret",
            None,
            "HMAC secret shared with the shop site; it signs the buyer tokens passed as message metadata",
            "secrets",
        ),
        Variable("SHOP_API_KEY", "secret", None, "The shop's key for POST /api/order-events (header X-Shop-Key)", "secrets"),
        Variable(
            "RASA_AUTH_TOKEN",
            "secret",
            None,
            "Rasa's HTTP API token (rasa run --auth-token; the gateway and the trainer jobs send it)",
            "secrets",
        ),
        Variable(
            "ACTION_SERVER_SECRET",
            "secret",
            None,
            "Sent by Rasa to the action server (header X-Action-Secret, endpoints.yml); other callers get 401",
            "secrets",
        ),
        Variable(
            "MODEL_SERVER_TOKEN",
            "secret",
            None,
            "The model server's token: Rasa sends it (endpoints.yml models: token) to pull the active model, "
            "the trainer to publish and activate models",
            "secrets",
        ),
        Variable(
            "EVENT_BROKER_PASSWORD",
            "secret",
            None,
            "RabbitMQ password of EVENT_BROKER_USERNAME (Rasa's event broker and the event consumer); "
            "letters, digits, -, _, . and ~ only",
            "secrets",
        ),
        Variable(
            "QKF_NEW_PASSWORD",
            "secret",
            None,
            "python -m bot agent-add: the new account's password instead of asking (for scripts; not for .env)",
            "secrets",
        ),
        # -- Gateway
        Variable(
            "QKF_DEMO_SHOP",
            "flag",
            "0",
            "The demo shop's pages, which sign a token for ?buyer=B001 without any "
            "login: on only in the demo (make run sets 1); the production profile refuses to start with it",
            "gateway",
        ),
        Variable(
            "GATEWAY_ALLOWED_ORIGINS",
            "list",
            "",
            "Page origins besides the gateway's own allowed to open the widget's socket and call its API (CORS)",
            "gateway",
        ),
        Variable(
            "GATEWAY_TRUSTED_PROXIES",
            "list",
            "",
            "Proxies (addresses or networks) whose X-Forwarded-For / "
            "X-Forwarded-Proto are believed (run-prod: its nginx; compose: the compose network)",
            "gateway",
        ),
        Variable(
            "GATEWAY_RATE_BURST",
            "int",
            "5",
            "Messages one buyer may send to one gateway at once, before the steady rate applies",
            "gateway",
            minimum=1,
        ),
        Variable(
            "GATEWAY_RATE_PER_SECOND",
            "number",
            "1",
            "Messages per second one buyer may send to one gateway after the burst",
            "gateway",
            above=0,
        ),
        Variable(
            "GATEWAY_IP_RATE_BURST",
            "int",
            "30",
            "Messages one client address (all its conversations) may send at once",
            "gateway",
            minimum=1,
        ),
        Variable(
            "GATEWAY_IP_RATE_PER_SECOND",
            "number",
            "5",
            "Messages per second one client address may send after the burst",
            "gateway",
            above=0,
        ),
        Variable(
            "GATEWAY_RASA_MAX_IN_FLIGHT",
            "int",
            "4",
            "Buyer turns one gateway has at Rasa at once (the rest queue in arrival order); about 2 per Rasa replica",
            "gateway",
            minimum=1,
        ),
        Variable(
            "RASA_URL",
            "url",
            "http://${QKF_HOST}:${RASA_PORT}",
            "Gateway -> Rasa (behind a load balancer: the balancer)",
            "gateway",
        ),
        Variable(
            "RASA_REPLICA_URLS",
            "list",
            "${RASA_URL}",
            "Every Rasa replica: a model the trainer activates is loaded into each",
            "gateway",
        ),
        Variable(
            "GATEWAY_REDIS_URL",
            "url",
            "",
            "Several gateways: their socket.io rooms shared through this Redis "
            "(python-socketio's AsyncRedisManager); empty: one gateway, rooms in memory",
            "gateway",
        ),
        Variable("GATEWAY_REDIS_CHANNEL", "text", "qinkefu-socketio", "The Redis channel of GATEWAY_REDIS_URL", "gateway"),
        # -- Model server
        Variable(
            "MODEL_SERVER_URL",
            "url",
            "",
            "The model server (e.g. http://127.0.0.1:5301): the trainer publishes and activates models there "
            "and the replicas pull the active one; empty: the trainer loads models into each of RASA_REPLICA_URLS "
            "with PUT /model (one shared disk only)",
            "model_server",
        ),
        Variable("MODEL_SERVER_PORT", "port", "5301", "The model server's port", "model_server"),
        Variable(
            "MODEL_SERVER_DIR",
            "path",
            "${QKF_VAR_DIR}/model-server",
            "The model server's own folder: every published model and which one is active",
            "model_server",
        ),
        Variable(
            "MODEL_PULL_SECONDS",
            "int",
            "10",
            "Seconds between two pulls of a Rasa replica at the model server (wait_time_between_pulls): "
            "an activated model answers within this long plus its loading time",
            "model_server",
            minimum=1,
            exported=True,
        ),
        # -- Production profile
        Variable(
            "PROD_POSTGRES_URL",
            "url",
            "postgresql://postgres@127.0.0.1:5432",
            "PostgreSQL server, without a database (PREFIX_tracker, PREFIX_shop and PREFIX_gateway are created)",
            "prod",
        ),
        Variable("PROD_DATABASE_PREFIX", "text", "qinkefu", "PREFIX of the three databases", "prod"),
        Variable("REDIS_HOST", "host", "127.0.0.1", "Redis: Rasa's lock store and the gateways' socket.io rooms", "prod"),
        Variable("REDIS_PORT", "port", "6379", "Redis port", "prod"),
        Variable("REDIS_DB", "int", "0", "Redis database number", "prod", minimum=0),
        Variable("REDIS_PREFIX", "text", "qinkefu", "Prefix of the lock store's keys and of the socket.io channel", "prod"),
        Variable(
            "PROD_PRIVATE_HOST",
            "host",
            "127.0.0.1",
            "Private address of the replicas and of the internal "
            "balancers (RASA_PORT, ACTION_PORT); only the gateways' balancer (GATEWAY_PORT) is on QKF_HOST",
            "prod",
        ),
        Variable("PROD_RASA_REPLICAS", "int", "2", "Rasa replicas", "prod", minimum=1),
        Variable("PROD_RASA_FIRST_PORT", "port", "5101", "Port of the first Rasa replica (the next ones follow)", "prod"),
        Variable("PROD_ACTION_REPLICAS", "int", "2", "Action server replicas", "prod", minimum=1),
        Variable("PROD_ACTION_FIRST_PORT", "port", "5201", "Port of the first action server replica", "prod"),
        Variable("PROD_GATEWAY_REPLICAS", "int", "2", "Gateway replicas", "prod", minimum=1),
        Variable("PROD_GATEWAY_FIRST_PORT", "port", "8101", "Port of the first gateway replica", "prod"),
        Variable("PROD_VAR_DIR", "path", "var/prod", "The production profile's nginx configuration, uploads and logs", "prod"),
        Variable(
            "TICKET_LOCK_LIFETIME",
            "int",
            "10",
            "Seconds a Rasa replica that dies mid-turn holds that "
            "conversation's lock (read by Rasa, set by run-prod; the embedded profile keeps Rasa's 60)",
            "prod",
            minimum=1,
        ),
        # -- Rasa's endpoints in the production profile: derived by run-prod
        Variable(
            "ACTION_ENDPOINT_URL",
            "url",
            None,
            "The action servers' webhook (their balancer)",
            "prod_endpoints",
            derived="http://PROD_PRIVATE_HOST:ACTION_PORT/webhook",
        ),
        Variable(
            "TRACKER_PG_HOST",
            "host",
            None,
            "Conversation store: PostgreSQL host",
            "prod_endpoints",
            derived="from PROD_POSTGRES_URL",
        ),
        Variable(
            "TRACKER_PG_PORT",
            "port",
            None,
            "Conversation store: PostgreSQL port",
            "prod_endpoints",
            derived="from PROD_POSTGRES_URL",
        ),
        Variable(
            "TRACKER_PG_DB",
            "text",
            None,
            "Conversation store: database",
            "prod_endpoints",
            derived="PROD_DATABASE_PREFIX_tracker",
        ),
        Variable("TRACKER_PG_USER", "text", None, "Conversation store: user", "prod_endpoints", derived="from PROD_POSTGRES_URL"),
        Variable(
            "TRACKER_PG_PASSWORD",
            "secret",
            None,
            "Conversation store: password",
            "prod_endpoints",
            derived="from PROD_POSTGRES_URL",
        ),
        Variable("REDIS_LOCK_DB", "int", None, "Lock store: Redis database", "prod_endpoints", minimum=0, derived="REDIS_DB"),
        Variable("REDIS_LOCK_PREFIX", "text", None, "Lock store: key prefix", "prod_endpoints", derived="REDIS_PREFIX"),
        # -- Event stream
        Variable("EVENT_BROKER_HOST", "host", "127.0.0.1", "RabbitMQ: where Rasa publishes conversation events", "events"),
        Variable("EVENT_BROKER_PORT", "port", "5672", "RabbitMQ port (AMQP)", "events"),
        Variable(
            "EVENT_BROKER_VHOST",
            "text",
            "qinkefu",
            "RabbitMQ virtual host of the exchange and the queue (letters, digits, -, _ and . only)",
            "events",
        ),
        Variable(
            "EVENT_BROKER_USERNAME",
            "text",
            "qinkefu",
            "RabbitMQ user of Rasa and the consumer, with permissions on EVENT_BROKER_VHOST only",
            "events",
        ),
        Variable(
            "EVENT_BROKER_EXCHANGE",
            "text",
            "qinkefu-events",
            "Fanout exchange Rasa publishes to (declared by Rasa and by the consumer)",
            "events",
        ),
        Variable(
            "EVENT_BROKER_QUEUE",
            "text",
            "qinkefu-conversation-events",
            "Durable queue bound to the exchange, read by the event consumer",
            "events",
        ),
        Variable(
            "EVENTS_PORT",
            "port",
            "5077",
            "The event consumer's /health (python -m bot events; run-prod: on PROD_PRIVATE_HOST)",
            "events",
        ),
        # -- Processes and libraries
        Variable(
            "TF_CPP_MIN_LOG_LEVEL", "int", "2", "TensorFlow's C++ log level (2: errors only)", "process", minimum=0, exported=True
        ),
        Variable(
            "SQLALCHEMY_SILENCE_UBER_WARNING",
            "text",
            "1",
            "No SQLAlchemy 2.0 migration warning (Rasa 3.6 pins SQLAlchemy 1.4)",
            "process",
            exported=True,
        ),
        Variable(
            "PYTHONUNBUFFERED", "text", "1", "Child processes' output reaches their log files at once", "process", exported=True
        ),
        Variable(
            "CI",
            "text",
            "",
            "true on the CI machine (.ci/run): a missing Debian package, PostgreSQL, Redis or "
            "browser fails the tests instead of skipping them",
            "process",
        ),
    ]
}

REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def variable(name: str) -> Variable:
    try:
        return VARIABLES[name]
    except KeyError:
        raise SettingError(f"{name} is not a setting: declare it in bot/settings.py (VARIABLES)") from None


def _environment(env: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if env is None else env


def _raw(name: str, env: Mapping[str, str]) -> Optional[str]:
    """The value as text: the environment's, else the default with its ${NAME} references resolved."""
    declared = variable(name)
    value = (env.get(name) or "").strip()
    if value:
        return value
    if declared.default is None:
        return None
    return REFERENCE.sub(lambda match: text(match.group(1), env) or "", declared.default)


def _problem(declared: Variable, value: str, expected: str) -> SettingError:
    return SettingError(f"{declared.name}={value!r}: {expected} (see {declared.name} in .env.example)")


def _parse(declared: Variable, value: str) -> Any:
    kind = declared.type
    number: float  # an int for int and port variables
    if kind in ("int", "port"):
        try:
            number = int(value)
        except ValueError:
            raise _problem(declared, value, "not a whole number") from None
        if kind == "port" and not 1 <= number <= 65535:
            raise _problem(declared, value, "not a port (1 to 65535)")
    elif kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise _problem(declared, value, "not a number") from None
    elif kind == "flag":
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise _problem(declared, value, "not a flag (1 or 0, true or false, yes or no, on or off)")
    elif kind == "path":
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path
    elif kind == "list":
        return tuple(part.strip() for part in value.split(",") if part.strip())
    elif kind == "url":
        if "://" not in value:
            raise _problem(declared, value, "not a URL (scheme://...)")
        return value
    else:
        return value
    if declared.minimum is not None and number < declared.minimum:
        raise _problem(declared, value, f"less than {declared.minimum:g}")
    if declared.above is not None and number <= declared.above:
        raise _problem(declared, value, f"not greater than {declared.above:g}")
    return number


def get(name: str, env: Optional[Mapping[str, str]] = None) -> Any:
    """The typed value of NAME (int, float, bool, Path, tuple or str) from ``env`` (default:
    os.environ), else its default; None for a variable without a default that is not set.
    Raises SettingError naming the variable when the value does not fit its type."""
    env = _environment(env)
    value = _raw(name, env)
    if value is None:
        return None
    declared = variable(name)
    if value == "" and declared.type != "list":
        return ""
    return _parse(declared, value)


def text(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """NAME's value as an environment variable would carry it (paths absolute); None when unset
    without a default."""
    value = get(name, env)
    if value is None:
        return None
    declared = variable(name)
    if declared.type == "path":
        return str(value)
    return _raw(name, _environment(env))


def check(env: Optional[Mapping[str, str]] = None) -> List[str]:
    """Every variable whose value does not fit its type or range, as messages naming it."""
    problems = []
    for name in VARIABLES:
        try:
            get(name, env)
        except SettingError as error:
            problems.append(str(error))
    return problems


def exported_defaults(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The defaults of the exported variables (read by Rasa or libraries) that ``env`` lacks."""
    env = _environment(env)
    defaults: Dict[str, str] = {}
    for declared in VARIABLES.values():
        if declared.exported and not (env.get(declared.name) or "").strip():
            value = text(declared.name, env)
            if value is not None:
                defaults[declared.name] = value
    return defaults


def child_environment(
    overrides: Optional[Mapping[str, str]] = None,
    base: Optional[Mapping[str, str]] = None,
    local_secrets: bool = False,
) -> Dict[str, str]:
    """The environment of a child process: ``base`` (default: os.environ), then ``overrides`` (only
    declared variables), then, with ``local_secrets``, this machine's generated secrets for those
    not set (the embedded profile), then the defaults of the exported variables."""
    env = dict(_environment(base))
    for name, value in (overrides or {}).items():
        variable(name)
        env[name] = value
    if local_secrets:
        env.update(ensure_local_secrets(env))
    env.update(exported_defaults(env))
    return env


# -- .env files and this machine's secrets --------------------------------------------------------


def read_env_file(path: Path) -> Dict[str, str]:
    """KEY=VALUE lines (comments, blanks and `export ` allowed; optional quotes)."""
    values: Dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_dotenv(path: Path = PROJECT_ROOT / ".env") -> None:
    """Reads .env into the environment; variables already set win."""
    for key, value in read_env_file(path).items():
        os.environ.setdefault(key, value)


def var_dir_from_env(env: Optional[Mapping[str, str]] = None) -> Path:
    return get("QKF_VAR_DIR", env)


def local_secrets_file(env: Optional[Mapping[str, str]] = None) -> Path:
    return var_dir_from_env(env) / "secrets.env"


def ensure_local_secrets(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The embedded profile's secrets: generated once per machine into var/secrets.env (mode 600);
    a secret set in the environment wins. Returns every secret's value."""
    env = _environment(env)
    path = local_secrets_file(env)
    stored = read_env_file(path)
    missing = [name for name in SECRET_NAMES if not stored.get(name)]
    if missing:
        for name in missing:
            stored[name] = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(
            "# Generated by `make run` (python -m bot run): this machine's secrets. Keep private.\n"
            + "".join(f"{name}={stored[name]}\n" for name in SECRET_NAMES),
            encoding="utf-8",
        )
    return {name: env.get(name) or stored[name] for name in SECRET_NAMES}


def secret_problems(env: Mapping[str, str]) -> List[str]:
    """Why each of the production secrets cannot be used (empty, a known default, too short)."""
    problems = []
    for name in SECRET_NAMES:
        value = env.get(name) or ""
        if not value:
            problems.append(f"{name} is empty")
        elif value in KNOWN_DEFAULT_SECRETS or "change-me" in value or value.startswith("dev-only"):
            problems.append(f"{name} is a default value")
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
        elif name in URL_SAFE_SECRETS and not URL_SAFE.fullmatch(value):
            problems.append(f"{name} has characters other than letters, digits, -, _, . and ~ (it goes into a URL)")
    return problems


def _secret(name: str, env: Mapping[str, str]) -> str:
    """From the environment, else from var/secrets.env (written by `make run`), else empty."""
    return get(name, env) or read_env_file(local_secrets_file(env)).get(name, "")


# -- .env.example ----------------------------------------------------------------------------------

ENV_EXAMPLE_WIDTH = 100
ENV_EXAMPLE_HEADER = """\
# Qinkefu: every environment variable the processes read, with its default and meaning.
# Generated from the registry in bot/settings.py: `python -m bot settings env-example > .env.example`
# (tests/test_settings.py fails when the two differ). Copy to .env and uncomment what you change:
# `python -m bot ...` (so every make target) and bot.rasa_server read .env from the project folder at
# start; a variable already set in the environment wins over .env. An empty value means the default;
# ${NAME} in a default stands for that variable's value; relative paths are relative to the project
# folder. `python -m bot settings check` checks a configuration, `settings get NAME` prints a value.
"""


def _kind(declared: Variable) -> str:
    described = {
        "text": "text",
        "host": "address",
        "port": "port",
        "int": "whole number",
        "number": "number",
        "flag": "0 or 1",
        "path": "path",
        "url": "URL",
        "list": "comma-separated list",
        "secret": "secret",
    }[declared.type]
    if declared.minimum is not None:
        described += f" >= {declared.minimum:g}"
    if declared.above is not None:
        described += f" > {declared.above:g}"
    if declared.exported:
        described += "; every process gets the default"
    if declared.derived:
        described += f"; run-prod sets it: {declared.derived}"
    elif declared.default is None:
        described += "; no default" + ("; required in production" if declared.name in SECRET_NAMES else "")
    return described


def _comment(text: str) -> List[str]:
    return textwrap.wrap(
        text,
        width=ENV_EXAMPLE_WIDTH,
        initial_indent="# ",
        subsequent_indent="#   ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def env_example() -> str:
    """The text of .env.example, from the registry."""
    lines = [ENV_EXAMPLE_HEADER.rstrip("\n")]
    for section, title, notes in SECTIONS:
        lines += ["", f"# --- {title} ".ljust(ENV_EXAMPLE_WIDTH, "-")]
        if notes:
            lines += textwrap.wrap(
                notes,
                width=ENV_EXAMPLE_WIDTH,
                initial_indent="# ",
                subsequent_indent="# ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        for declared in VARIABLES.values():
            if declared.section == section:
                lines += _comment(f"{declared.meaning} [{_kind(declared)}]")
                lines.append(f"# {declared.name}={declared.default or ''}")
    return "\n".join(lines) + "\n"


# -- the settings of the processes ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    orders_db_url: str
    policy_file: Path
    lexicon_file: Path
    size_chart_file: Path
    demo_shop_file: Path
    dictionary_dir: Path
    spacy_model_dir: Path
    buyer_token_secret: str
    shop_api_key: str
    rasa_auth_token: str
    action_server_secret: str
    demo_shop: bool
    trusted_proxies: tuple
    ip_rate_burst: int
    ip_rate_per_second: float
    uploads_retention_days: float
    gateway_db_url: str
    gateway_strings_file: Path
    routing_file: Path
    trainer_project_dir: Path
    training_work_dir: Path
    training_poll_seconds: float
    uploads_dir: Path
    extra_origins: tuple
    rasa_port: int
    action_port: int
    gateway_port: int
    host: str
    rasa_url: str
    rasa_replica_urls: tuple
    redis_url: str
    redis_channel: str
    rate_burst: int
    rate_per_second: float
    rasa_max_in_flight: int
    model_server_url: str
    model_server_token: str
    model_server_port: int
    model_server_dir: Path

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Raises SettingError listing every variable that does not fit its type."""
        env = _environment(env)
        problems = check(env)
        if problems:
            raise SettingError("\n".join(problems))
        return cls(
            var_dir=get("QKF_VAR_DIR", env),
            orders_db_url=get("ORDERS_DB_URL", env),
            policy_file=get("SHOP_POLICY_FILE", env),
            lexicon_file=get("SHOP_LEXICON_FILE", env),
            size_chart_file=get("SHOP_SIZE_CHART_FILE", env),
            demo_shop_file=get("DEMO_SHOP_FILE", env),
            dictionary_dir=get("JIEBA_DICTIONARY_DIR", env),
            spacy_model_dir=get("SPACY_MODEL_DIR", env),
            buyer_token_secret=_secret("BUYER_TOKEN_SECRET", env),
            shop_api_key=_secret("SHOP_API_KEY", env),
            rasa_auth_token=_secret("RASA_AUTH_TOKEN", env),
            action_server_secret=_secret("ACTION_SERVER_SECRET", env),
            demo_shop=get("QKF_DEMO_SHOP", env),
            trusted_proxies=get("GATEWAY_TRUSTED_PROXIES", env),
            ip_rate_burst=get("GATEWAY_IP_RATE_BURST", env),
            ip_rate_per_second=get("GATEWAY_IP_RATE_PER_SECOND", env),
            uploads_retention_days=get("UPLOADS_RETENTION_DAYS", env),
            gateway_db_url=get("GATEWAY_DB_URL", env),
            gateway_strings_file=get("GATEWAY_STRINGS_FILE", env),
            routing_file=get("ROUTING_POLICY_FILE", env),
            trainer_project_dir=get("TRAINER_PROJECT_DIR", env),
            training_work_dir=get("TRAINING_WORK_DIR", env),
            training_poll_seconds=get("TRAINING_WORKER_POLL_SECONDS", env),
            uploads_dir=get("UPLOADS_DIR", env),
            extra_origins=get("GATEWAY_ALLOWED_ORIGINS", env),
            rasa_port=get("RASA_PORT", env),
            action_port=get("ACTION_PORT", env),
            gateway_port=get("GATEWAY_PORT", env),
            host=get("QKF_HOST", env),
            rasa_url=get("RASA_URL", env).rstrip("/"),
            rasa_replica_urls=tuple(url.rstrip("/") for url in get("RASA_REPLICA_URLS", env)),
            redis_url=get("GATEWAY_REDIS_URL", env),
            redis_channel=get("GATEWAY_REDIS_CHANNEL", env),
            rate_burst=get("GATEWAY_RATE_BURST", env),
            rate_per_second=get("GATEWAY_RATE_PER_SECOND", env),
            rasa_max_in_flight=get("GATEWAY_RASA_MAX_IN_FLIGHT", env),
            model_server_url=get("MODEL_SERVER_URL", env).rstrip("/"),
            model_server_token=_secret("MODEL_SERVER_TOKEN", env),
            model_server_port=get("MODEL_SERVER_PORT", env),
            model_server_dir=get("MODEL_SERVER_DIR", env),
        )

    @property
    def allowed_origins(self) -> list:
        """Pages that may open the widget's socket: the gateway itself plus GATEWAY_ALLOWED_ORIGINS."""
        own = [f"http://{self.host}:{self.gateway_port}", f"http://localhost:{self.gateway_port}"]
        return own + list(self.extra_origins)
