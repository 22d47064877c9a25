"""The Kubernetes manifests (deploy/kubernetes): every overlay renders with `kubectl kustomize`, every
object validates against the Kubernetes schemas (kubernetes-validate, offline, strict), and the
invariants that matter hold: only the gateway is exposed, every container has probes, requests and
limits and runs as non-root, no secret has a literal value, every variable a process gets is
declared in bot/settings.py, and the processes start as the production profile starts them."""

from __future__ import annotations

import copy
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Dict, List, Set

import pytest
import yaml

from bot.ops.supervisor import RASA_HEALTH_PATH, rasa_command
from bot.settings import SECRET_NAMES, VARIABLES
from tests.conftest import ROOT
from tests.deploy.manifests import (
    IMAGE_NAME,
    KUBERNETES,
    KUBERNETES_VERSION,
    OVERLAYS,
    PROJECT_DIR,
    PYTHON,
    Object,
    config_maps_by_base_name,
    containers,
    environment,
    image_repository,
    image_tag,
    is_ours,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    render,
    workloads,
)

# Variables whose value is a secret: the registry's secrets, and the database URLs, whose production
# value carries the database password.
CREDENTIAL_URLS = {"ORDERS_DB_URL", "GATEWAY_DB_URL"}
SECRET_VARIABLES = {name for name, declared in VARIABLES.items() if declared.type == "secret"} | CREDENTIAL_URLS
# Names that look secret in containers that are not ours (the demo's PostgreSQL).
SENSITIVE_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

# What each process reads (its secrets first), by the component label of its workload.
COMPONENTS = ("rasa", "action-server", "gateway")
NEEDS: Dict[str, Set[str]] = {
    "rasa": {"RASA_AUTH_TOKEN", "ACTION_SERVER_SECRET", "TRACKER_PG_PASSWORD"},  # plus endpoints.yml's ${...}
    "action-server": {"ACTION_SERVER_SECRET", "BUYER_TOKEN_SECRET", "ORDERS_DB_URL", "QKF_HOST"},
    "gateway": {
        "RASA_AUTH_TOKEN",
        "BUYER_TOKEN_SECRET",
        "SHOP_API_KEY",
        "ORDERS_DB_URL",
        "GATEWAY_DB_URL",
        "RASA_URL",
        "GATEWAY_REDIS_URL",
        "GATEWAY_ALLOWED_ORIGINS",
        "QKF_HOST",
        # The trainer console publishes and activates models on the model server.
        "MODEL_SERVER_URL",
        "MODEL_SERVER_TOKEN",
    },
    "model-server": {"MODEL_SERVER_TOKEN", "MODEL_SERVER_DIR", "QKF_HOST"},
    "migrate": {"ORDERS_DB_URL", "GATEWAY_DB_URL"},
    # The training worker: queued jobs and the trainer's documents in the gateway database -> a model
    # published to and activated on the model server.
    "training-worker": {"GATEWAY_DB_URL", "MODEL_SERVER_URL", "MODEL_SERVER_TOKEN", "TRAINING_WORK_DIR"},
    # The event consumer: RabbitMQ (the same virtual host, user, exchange and queue as Rasa) -> the gateway database.
    "events": {
        "EVENT_BROKER_PASSWORD",
        "GATEWAY_DB_URL",
        "EVENT_BROKER_HOST",
        "EVENT_BROKER_PORT",
        "EVENT_BROKER_VHOST",
        "EVENT_BROKER_USERNAME",
        "EVENT_BROKER_EXCHANGE",
        "EVENT_BROKER_QUEUE",
        "QKF_HOST",
    },
}
# The process's port: the registry's default of its variable (deploy/Dockerfile EXPOSEs the same).
PORT_VARIABLE = {"rasa": "RASA_PORT", "action-server": "ACTION_PORT", "gateway": "GATEWAY_PORT", "events": "EVENTS_PORT"}
SECRETS_README = ROOT / "deploy" / "README.md"

overlays = pytest.mark.parametrize("overlay", OVERLAYS)


def component(workload: Object) -> str:
    return pod_labels(workload).get("app.kubernetes.io/component", "")


def our_workload(objects: List[Object], name: str) -> Object:
    found = [item for item in workloads(objects) if component(item) == name]
    assert len(found) == 1, f"{name}: {len(found)} workloads"
    return found[0]


def main_container(workload: Object) -> Object:
    (container,) = pod_spec(workload)["containers"]
    return container


def default_port(name: str) -> int:
    return int(VARIABLES[PORT_VARIABLE[name]].default or 0)


# -- rendering and the schemas ----------------------------------------------------------------------


@overlays
def test_the_overlay_renders_and_every_object_fits_the_kubernetes_schemas(overlay):
    from kubernetes_validate import utils as validator

    objects = render(overlay)
    assert len(objects) > 20
    problems = []
    for item in objects:
        where = f"{item['kind']}/{item['metadata']['name']}"
        try:
            validator.validate(item, KUBERNETES_VERSION, strict=True)
        except validator.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{where}: {path}: {error.message}")
        except (validator.SchemaNotFoundError, validator.InvalidSchemaError) as error:
            problems.append(f"{where}: {error.message}")
    assert not problems, "\n".join(problems)


def test_the_validator_refuses_a_misspelt_field():
    """Strict validation catches what kubectl would reject (else the test above passes for nothing)."""
    from kubernetes_validate import utils as validator

    deployment = copy.deepcopy(named(render("production"), "Deployment", "qinkefu-rasa"))
    container = pod_spec(deployment)["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(validator.ValidationError):
        validator.validate(deployment, KUBERNETES_VERSION, strict=True)


# -- exposure ----------------------------------------------------------------------------------------


@overlays
def test_only_the_gateway_is_exposed(overlay):
    objects = render(overlay)
    (ingress,) = of_kind(objects, "Ingress")
    backends = [path["backend"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert "defaultBackend" not in ingress["spec"] and backends
    assert all(backend["service"]["name"] == "qinkefu-gateway" for backend in backends), backends
    # The Service's port leads to the gateway container's port.
    service = named(objects, "Service", "qinkefu-gateway")
    (port,) = [p for p in service["spec"]["ports"] if p["name"] == backends[0]["service"]["port"]["name"]]
    gateway = main_container(our_workload(objects, "gateway"))
    (target,) = [p for p in gateway["ports"] if p["name"] == port["targetPort"]]
    assert target["containerPort"] == default_port("gateway")
    for item in of_kind(objects, "Service"):
        assert item["spec"].get("type", "ClusterIP") == "ClusterIP", f"{item['metadata']['name']} is exposed"
        assert not item["spec"].get("externalIPs"), item["metadata"]["name"]
    for workload in workloads(objects):
        spec = pod_spec(workload)
        assert not (spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC")), workload["metadata"]["name"]
    for _workload, container in containers(objects):
        assert all("hostPort" not in p for p in container.get("ports", [])), container["name"]


@overlays
def test_the_ingress_routes_by_conversation_keeps_sockets_open_and_takes_photos(overlay):
    (ingress,) = of_kind(render(overlay), "Ingress")
    annotations = ingress["metadata"]["annotations"]
    # deploy/nginx: `hash $arg_conversation consistent` (the widget's socket URL carries ?conversation=)
    assert annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$arg_conversation"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "6m"
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_production_terminates_tls_for_every_host():
    (ingress,) = of_kind(render("production"), "Ingress")
    tls = ingress["spec"]["tls"]
    covered = {host for entry in tls for host in entry["hosts"]}
    assert all(entry["secretName"] for entry in tls)
    assert {rule["host"] for rule in ingress["spec"]["rules"]} <= covered
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


@overlays
def test_network_policies_let_only_the_gateway_reach_rasa_and_only_rasa_the_action_server(overlay):
    objects = render(overlay)
    policies = of_kind(objects, "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress")
        for p in policies
    ), "no default deny of incoming connections"

    def peers(name: str) -> List[Object]:
        labels = pod_labels(our_workload(objects, name))
        selecting = [p for p in policies if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)]
        assert selecting, f"no policy selects the {name} pods"
        return [peer for p in selecting for rule in p["spec"].get("ingress", []) for peer in rule["from"]]

    def only_pods_of(found: List[Object], name: str) -> None:
        assert found
        for peer in found:
            assert set(peer) == {"podSelector"}, peer
            assert peer["podSelector"] == {
                "matchLabels": {"app.kubernetes.io/name": "qinkefu", "app.kubernetes.io/component": name}
            }

    only_pods_of(peers("rasa"), "gateway")
    only_pods_of(peers("action-server"), "rasa")
    # The event consumer takes no connections: no policy opens its pods, no Service leads to them.
    consumer = pod_labels(our_workload(objects, "events"))
    assert not [p for p in policies if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], consumer)]
    assert not [s for s in of_kind(objects, "Service") if selects({"matchLabels": s["spec"]["selector"]}, consumer)]
    for peer in peers("gateway"):
        assert set(peer) == {"namespaceSelector"}, peer  # the ingress controller's namespace


def selects(selector: Object, labels: Dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


# -- probes, resources, scaling ------------------------------------------------------------------------


@overlays
def test_every_container_has_probes_requests_and_limits(overlay):
    objects = render(overlay)
    for workload, container in containers(objects):
        where = f"{workload['metadata']['name']}/{container['name']}"
        if workload["kind"] not in ("Job", "CronJob"):  # a Job's pod ends by itself
            assert container.get("readinessProbe") and container.get("livenessProbe"), f"{where}: probes"
        resources = container.get("resources", {})
        for kind in ("cpu", "memory"):
            assert resources.get("requests", {}).get(kind) and resources.get("limits", {}).get(kind), f"{where}: {kind}"
        assert quantity(resources["requests"]["memory"]) <= quantity(resources["limits"]["memory"]), where
        assert quantity(resources["requests"]["cpu"]) <= quantity(resources["limits"]["cpu"]), where


def quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match, text
    return float(match.group(1)) * units.get(match.group(2), 1)


@overlays
def test_the_probes_use_each_process_health_route(overlay):
    objects = render(overlay)
    rasa = main_container(our_workload(objects, "rasa"))
    # Rasa answers / (no token) once the server is up; /status (token) names the loaded model.
    assert rasa["startupProbe"]["httpGet"]["path"] == RASA_HEALTH_PATH == "/"
    assert rasa["livenessProbe"]["httpGet"]["path"] == "/"
    assert rasa["readinessProbe"]["exec"]["command"] == [PYTHON, f"{PROJECT_DIR}/deploy/healthcheck.py", "rasa-model"]
    for name in ("action-server", "gateway"):
        container = main_container(our_workload(objects, name))
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http", "scheme": "HTTP"}, (name, probe)
    # The event consumer is ready only while connected to RabbitMQ with its table reachable (bot/events).
    events = main_container(our_workload(objects, "events"))
    assert events["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http", "scheme": "HTTP"}
    assert events["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http", "scheme": "HTTP"}
    for name in COMPONENTS:
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = main_container(our_workload(objects, name)).get(probe_name)
            if probe and "httpGet" in probe:
                assert probe["httpGet"]["port"] == "http"


@overlays
def test_each_process_has_an_autoscaler_and_a_disruption_budget(overlay):
    objects = render(overlay)
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    budgets = of_kind(objects, "PodDisruptionBudget")
    for name in COMPONENTS:
        deployment = our_workload(objects, name)
        assert deployment["kind"] == "Deployment"
        # The autoscaler owns the replica count; a `replicas` here would reset it at every apply.
        assert "replicas" not in deployment["spec"], name
        (autoscaler,) = [a for a in autoscalers if a["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]]
        assert autoscaler["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
        if overlay == "production":
            assert autoscaler["spec"]["minReplicas"] >= 2, name
        (budget,) = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert budget["spec"].get("maxUnavailable") == 1 or budget["spec"].get("minAvailable"), name


# -- security --------------------------------------------------------------------------------------------


def dockerfile_user() -> int:
    users = re.findall(r"(?m)^USER\s+(\S+)", (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8"))
    return int(users[-1].split(":")[0])


@overlays
def test_every_container_runs_as_non_root_without_privileges_on_a_read_only_root(overlay):
    objects = render(overlay)
    for workload, container in containers(objects):
        where = f"{workload['metadata']['name']}/{container['name']}"
        pod, own = pod_spec(workload).get("securityContext", {}), container.get("securityContext", {})

        def setting(key, own=own, pod=pod):
            return own.get(key, pod.get(key))

        assert setting("runAsNonRoot") is True and (setting("runAsUser") or 0) > 0, where
        assert (setting("seccompProfile") or {}).get("type") == "RuntimeDefault", where
        assert own.get("allowPrivilegeEscalation") is False and not own.get("privileged"), where
        assert "ALL" in own.get("capabilities", {}).get("drop", []), where
        assert own.get("readOnlyRootFilesystem") is True, where
        assert pod_spec(workload).get("automountServiceAccountToken") is False, where
        if is_ours(container):
            assert setting("runAsUser") == dockerfile_user(), where


@overlays
def test_no_secret_is_written_in_the_manifests(overlay):
    objects = render(overlay)
    assert not of_kind(objects, "Secret"), "Secrets are created in the namespace, never rendered from the repository"
    for item in of_kind(objects, "ConfigMap"):
        for key, value in (item.get("data") or {}).items():
            where = f"ConfigMap {item['metadata']['name']}: {key}"
            assert key not in SECRET_VARIABLES and not SENSITIVE_NAME.search(key), where
            assert not CREDENTIALS_IN_URL.search(value), where
            # Rasa's endpoints and channels: a password, token or header secret is a ${SECRET} reference.
            if key in ("endpoints.yml", "credentials.yml"):
                for path, text in sensitive_values(yaml.safe_load(value)):
                    referenced = REFERENCE.fullmatch(str(text))
                    assert referenced and referenced.group(1) in SECRET_VARIABLES, f"{where}: {path} is not a ${{SECRET}}"
    for workload, container in containers(objects):
        for name, entry in environment(objects, container).items():
            where = f"{workload['metadata']['name']}/{container['name']}: {name}"
            if name in SECRET_VARIABLES or SENSITIVE_NAME.search(name):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{where} must come from a secretKeyRef"
            assert not CREDENTIALS_IN_URL.search(str(entry.get("value", ""))), where


def sensitive_values(data, path: str = ""):
    """(path, value) of every value under a key that names a password, secret, token or key."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}"
            if re.search(r"password|secret|token|key$", str(key), re.IGNORECASE) and not isinstance(value, (dict, list)):
                if not str(key).endswith("key_prefix"):
                    yield here, value
            yield from sensitive_values(value, here)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from sensitive_values(value, f"{path}[{index}]")


def secret_references(objects: List[Object]) -> Set[tuple]:
    found = set()
    for _workload, container in containers(objects):
        for entry in container.get("env", []):
            reference = entry.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                # The key is the variable's name, so `kubectl create secret --from-env-file` fits.
                assert reference["key"] == entry["name"], entry
                found.add((reference["name"], reference["key"]))
    return found


def test_every_secret_the_manifests_refer_to_is_created_by_the_guide_or_the_demo_script():
    readme = SECRETS_README.read_text(encoding="utf-8")
    for secret, key in secret_references(render("production")):
        assert secret in readme and f"{key}=" in readme, f"deploy/README.md does not create {secret} {key}"
    demo_script = (KUBERNETES / "overlays" / "demo" / "create-secrets.sh").read_text(encoding="utf-8")
    for secret, key in secret_references(render("demo")):
        assert secret in demo_script and f"{key}=" in demo_script, f"create-secrets.sh does not create {secret} {key}"


# -- what each process gets ---------------------------------------------------------------------------


@overlays
def test_every_variable_a_process_gets_is_declared_in_the_registry(overlay):
    objects = render(overlay)
    for workload, container in containers(objects):
        if is_ours(container):
            undeclared = set(environment(objects, container)) - set(VARIABLES)
            assert not undeclared, f"{workload['metadata']['name']}: declare {sorted(undeclared)} in bot/settings.py"


def rasa_config_file(objects: List[Object], container: Object, option: str) -> str:
    """The text of the file Rasa's --endpoints or --credentials names (in the mounted ConfigMap)."""
    arguments = container["command"] + container["args"]
    path = arguments[arguments.index(option) + 1]
    volumes = {volume["name"]: volume for volume in pod_spec(our_workload(objects, "rasa"))["volumes"]}
    for mount in container["volumeMounts"]:
        if path.startswith(mount["mountPath"] + "/") and "configMap" in volumes[mount["name"]]:
            config_map = config_maps_by_base_name(objects)[volumes[mount["name"]]["configMap"]["name"]]
            return config_map["data"][path[len(mount["mountPath"]) + 1 :]]
    raise AssertionError(f"{option} {path} is not in a mounted ConfigMap")


@overlays
def test_each_process_gets_what_it_reads_and_no_secret_it_does_not(overlay):
    objects = render(overlay)
    rasa = main_container(our_workload(objects, "rasa"))
    endpoints = re.sub(r"(?m)^\s*#.*$", "", rasa_config_file(objects, rasa, "--endpoints"))
    needs = dict(NEEDS, rasa=NEEDS["rasa"] | set(REFERENCE.findall(endpoints)))
    for name, needed in needs.items():
        container = main_container(our_workload(objects, name))
        env = environment(objects, container)
        assert needed <= set(env), f"{name} lacks {sorted(needed - set(env))}"
        given_secrets = {key for key in env if key in SECRET_VARIABLES}
        assert given_secrets == needed & SECRET_VARIABLES, f"{name} gets secrets it does not read: {given_secrets - needed}"
        assert env.get("QKF_HOST", {}).get("value", "0.0.0.0") == "0.0.0.0"  # the pod's address, not 127.0.0.1
        # The values fit their types (secrets stand in as long random values).
        values = {
            key: ("postgresql://user:password@host:5432/db" if key in CREDENTIAL_URLS else "s" * 40)
            if "valueFrom" in entry
            else entry["value"]
            for key, entry in env.items()
        }
        from bot import settings

        assert settings.check(values) == [], name
    # The production overlay never turns the demo shop's token-signing pages on.
    if overlay == "production":
        for name in COMPONENTS:
            value = environment(objects, main_container(our_workload(objects, name))).get("QKF_DEMO_SHOP", {}).get("value")
            assert value in (None, "0"), name


@overlays
def test_the_processes_start_as_the_production_profile_starts_them(overlay):
    objects = render(overlay)
    rasa = main_container(our_workload(objects, "rasa"))
    arguments = rasa["command"] + rasa["args"]
    endpoints = arguments[arguments.index("--endpoints") + 1]
    expected = rasa_command("models/qinkefu.tar.gz", "0.0.0.0", default_port("rasa"), endpoints)
    expected[0] = PYTHON
    # credentials.yml: the mounted copy of the project's file
    expected[expected.index("--credentials") + 1] = arguments[arguments.index("--credentials") + 1]
    assert arguments == expected
    # bot.rasa_server adds --auth-token from RASA_AUTH_TOKEN: never on a command line; no CORS.
    assert "--auth-token" not in arguments and "--cors" not in arguments
    assert yaml.safe_load(rasa_config_file(objects, rasa, "--credentials")) == yaml.safe_load(
        (ROOT / "credentials.yml").read_text(encoding="utf-8")
    )
    assert main_container(our_workload(objects, "action-server"))["command"] + main_container(
        our_workload(objects, "action-server")
    )["args"] == [PYTHON, "-m", "bot", "actions"]
    assert main_container(our_workload(objects, "gateway"))["command"] + main_container(our_workload(objects, "gateway"))[
        "args"
    ] == [PYTHON, "-m", "bot", "gateway"]
    model_server = main_container(our_workload(objects, "model-server"))
    assert model_server["command"] + model_server["args"] == [
        PYTHON,
        "-m",
        "bot",
        "model-server",
        "--seed",
        "models/qinkefu.tar.gz",
    ]
    migrate = main_container(our_workload(objects, "migrate"))
    assert "-m bot migrate" in " ".join(migrate["command"] + migrate["args"])
    events = main_container(our_workload(objects, "events"))
    assert events["command"] + events["args"] == [PYTHON, "-m", "bot", "events"]
    worker = our_workload(objects, "training-worker")
    assert worker["kind"] == "CronJob" and worker["spec"]["concurrencyPolicy"] == "Forbid"
    assert main_container(worker)["command"] + main_container(worker)["args"] == [PYTHON, "-m", "bot", "training-worker", "--once"]
    for _workload, container in containers(objects):
        if is_ours(container):
            assert container["command"][0] in (PYTHON, "/bin/sh"), container["name"]


@overlays
def test_rasa_publishes_its_events_where_the_consumer_reads_them(overlay):
    """Rasa's Pika event broker (endpoints.yml) and the consumer get the same broker, virtual host,
    user, exchange and queue, and the password from the same Secret key."""
    objects = render(overlay)
    rasa = main_container(our_workload(objects, "rasa"))
    broker = yaml.safe_load(rasa_config_file(objects, rasa, "--endpoints"))["event_broker"]
    assert broker["type"] == "pika" and broker["queues"] == ["${EVENT_BROKER_QUEUE}"]
    assert broker["url"] == "amqp://${EVENT_BROKER_HOST}/${EVENT_BROKER_VHOST}" and broker["password"] == "${EVENT_BROKER_PASSWORD}"
    rasa_env = environment(objects, rasa)
    consumer_env = environment(objects, main_container(our_workload(objects, "events")))
    for name in NEEDS["events"] - {"GATEWAY_DB_URL", "QKF_HOST"}:
        assert rasa_env[name] == consumer_env[name], name
    assert rasa_env["EVENT_BROKER_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "qinkefu-event-broker"
    host = consumer_env["EVENT_BROKER_HOST"]["value"]
    if overlay == "demo":
        assert named(objects, "Service", host)["spec"]["ports"][0]["port"] == int(consumer_env["EVENT_BROKER_PORT"]["value"])


@overlays
def test_ports_come_from_the_registry(overlay):
    objects = render(overlay)
    env = environment(objects, main_container(our_workload(objects, "gateway")))
    events = main_container(our_workload(objects, "events"))
    assert [p["containerPort"] for p in events["ports"] if p["name"] == "http"] == [default_port("events")]
    for name in COMPONENTS:
        port = default_port(name)
        container = main_container(our_workload(objects, name))
        assert [p["containerPort"] for p in container["ports"] if p["name"] == "http"] == [port], name
        (service,) = [
            s
            for s in of_kind(objects, "Service")
            if selects({"matchLabels": s["spec"]["selector"]}, pod_labels(our_workload(objects, name)))
        ]
        assert [p["port"] for p in service["spec"]["ports"]] == [port], name
    assert env["RASA_URL"]["value"] == f"http://qinkefu-rasa:{default_port('rasa')}"
    rasa_env = environment(objects, main_container(our_workload(objects, "rasa")))
    assert rasa_env["ACTION_ENDPOINT_URL"]["value"] == f"http://qinkefu-action-server:{default_port('action-server')}/webhook"


@overlays
def test_images_are_pinned_by_tag(overlay):
    ours = set()
    for workload, container in containers(render(overlay)):
        tag = image_tag(container["image"])
        assert tag and tag != "latest", f"{workload['metadata']['name']}/{container['name']}: {container['image']}"
        if is_ours(container):
            ours.add(container["image"])
    assert len(ours) == 1, f"one image of the project per overlay: {ours}"
    assert image_repository(next(iter(ours))).endswith(IMAGE_NAME)


# -- configuration copies and hooks -------------------------------------------------------------------


def test_the_configuration_copies_are_what_the_sync_script_writes(tmp_path):
    subprocess.run([str(ROOT / "scripts" / "sync_kubernetes_config.sh"), str(tmp_path)], check=True, timeout=60)
    committed = KUBERNETES / "base" / "config"
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    stale = [str(name) for name in written if (tmp_path / name).read_bytes() != (committed / name).read_bytes()]
    assert not stale, f"deploy/kubernetes/base/config differs from its sources in {stale}: run `make k8s-config`"
    # Rasa gets deploy/endpoints.prod.yml, the production profile's endpoints, and nothing else active.
    assert yaml.safe_load((committed / "endpoints.yml").read_text(encoding="utf-8")) == yaml.safe_load(
        (ROOT / "deploy" / "endpoints.prod.yml").read_text(encoding="utf-8")
    )
    for name in ("policy.yml", "routing.yml", "size_chart.yml", "gateway_strings.yml"):
        assert (committed / "shop" / name).read_bytes() == (ROOT / "data" / "shop" / name).read_bytes()


@overlays
def test_the_shop_data_files_the_processes_read_are_in_the_mounted_config_map(overlay):
    objects = render(overlay)
    for name in ("action-server", "gateway"):
        workload = our_workload(objects, name)
        container = main_container(workload)
        env = environment(objects, container)
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        for variable in ("SHOP_POLICY_FILE", "ROUTING_POLICY_FILE", "SHOP_SIZE_CHART_FILE", "GATEWAY_STRINGS_FILE"):
            folder, file_name = os.path.split(env[variable]["value"])
            config_map = config_maps_by_base_name(objects)[mounts[folder]["configMap"]["name"]]
            assert file_name in config_map["data"], (name, variable)


@overlays
def test_rasa_pulls_the_active_model_from_the_model_server(overlay):
    """Rasa's endpoints carry the production profile's models: section: the model server's Service,
    its token as a ${SECRET} reference, a poll interval; the model server keeps its artifacts on its
    own volume, is one replica (one writer of that volume) and is reached only by Rasa and the gateways."""
    objects = render(overlay)
    rasa = main_container(our_workload(objects, "rasa"))
    models = yaml.safe_load(rasa_config_file(objects, rasa, "--endpoints"))["models"]
    assert models == {
        "url": "${MODEL_SERVER_URL}/models/active",
        "token": "${MODEL_SERVER_TOKEN}",
        "wait_time_between_pulls": "${MODEL_PULL_SECONDS}",
    }
    rasa_env = environment(objects, rasa)
    port = int(VARIABLES["MODEL_SERVER_PORT"].default or 0)
    assert rasa_env["MODEL_SERVER_URL"]["value"] == f"http://qinkefu-model-server:{port}"
    assert int(rasa_env["MODEL_PULL_SECONDS"]["value"]) >= 1
    assert rasa_env["MODEL_SERVER_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "qinkefu-secrets", "key": "MODEL_SERVER_TOKEN"}

    workload = our_workload(objects, "model-server")
    assert workload["kind"] == "Deployment" and workload["spec"]["replicas"] == 1
    assert workload["spec"]["strategy"] == {"type": "Recreate"}
    container = main_container(workload)
    assert container["command"] + container["args"] == [PYTHON, "-m", "bot", "model-server", "--seed", "models/qinkefu.tar.gz"]
    assert [p["containerPort"] for p in container["ports"] if p["name"] == "http"] == [port]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http", "scheme": "HTTP"}
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    (artifacts,) = [
        m for m in container["volumeMounts"] if m["mountPath"] == environment(objects, container)["MODEL_SERVER_DIR"]["value"]
    ]
    claim = volumes[artifacts["name"]]["persistentVolumeClaim"]["claimName"]
    assert named(objects, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    (service,) = [s for s in of_kind(objects, "Service") if s["metadata"]["name"] == "qinkefu-model-server"]
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(workload))

    (policy,) = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], pod_labels(workload))
    ]
    peers = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    ]
    assert sorted(peers) == ["gateway", "rasa", "training-worker"]


# -- the demo's secrets ---------------------------------------------------------------------------------


def fake_kubectl(folder: Path, existing: bool) -> Path:
    """A kubectl that records its arguments and the env files of `create secret`."""
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{folder}/calls"\n'
        'case "$*" in\n'
        f"  *'get '*) exit {0 if existing else 1} ;;\n"
        '  *--from-env-file=*) for a in "$@"; do case "$a" in --from-env-file=*) '
        f'cp "${{a#--from-env-file=}}" "{folder}/$(echo "$*" | sed "s/.*generic \\([^ ]*\\).*/\\1/").env" ;; esac; done ;;\n'
        "esac\nexit 0\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def run_demo_script(folder: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{folder}:/usr/bin:/bin", "HOME": str(folder)}
    return subprocess.run(
        [str(KUBERNETES / "overlays" / "demo" / "create-secrets.sh"), "demo-ns"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_demo_secrets_are_random_long_and_never_on_a_command_line(tmp_path):
    runs = []
    for index in range(2):
        folder = tmp_path / str(index)
        folder.mkdir()
        fake_kubectl(folder, existing=False)
        done = run_demo_script(folder)
        assert done.returncode == 0, done.stderr
        values = {}
        for name in ("qinkefu-secrets", "qinkefu-database", "qinkefu-event-broker"):
            values.update(line.split("=", 1) for line in (folder / f"{name}.env").read_text().splitlines())
        calls = (folder / "calls").read_text()
        assert "-n demo-ns" in calls
        for key, value in values.items():
            assert value not in calls, f"{key} was on a command line"
        runs.append(values)
    first, second = runs
    assert set(first) == (
        {name for name in SECRET_NAMES} | {"POSTGRES_PASSWORD", "TRACKER_PG_PASSWORD", "RABBITMQ_DEFAULT_PASS"} | CREDENTIAL_URLS
    )
    for name in SECRET_NAMES:
        assert len(first[name]) >= 32 and first[name] != second[name]
    assert len({first[name] for name in SECRET_NAMES}) == len(SECRET_NAMES)
    password = first["POSTGRES_PASSWORD"]
    assert first["TRACKER_PG_PASSWORD"] == password and len(password) >= 32
    assert first["ORDERS_DB_URL"] == f"postgresql://qinkefu:{password}@qinkefu-postgres:5432/qinkefu_shop"
    assert first["GATEWAY_DB_URL"] == f"postgresql://qinkefu:{password}@qinkefu-postgres:5432/qinkefu_gateway"
    # The demo's RabbitMQ creates its user with the password Rasa and the consumer log in with.
    assert first["RABBITMQ_DEFAULT_PASS"] == first["EVENT_BROKER_PASSWORD"] != password


def test_the_demo_script_keeps_existing_secrets(tmp_path):
    fake_kubectl(tmp_path, existing=True)
    done = run_demo_script(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "create" not in (tmp_path / "calls").read_text() and "kept" in done.stdout
