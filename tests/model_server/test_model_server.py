"""The model server on its own (in this process, on a free port): what Rasa's model pulling gets
(the file, its sha256 as ETag, 304 when Rasa already has it), the token, publishing, activation
and rollback, and the trainer's client."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import io
import tarfile
import uuid
from pathlib import Path

import aiohttp
import pytest
from sanic import Sanic

from bot.model_server.app import model_server_blueprint
from bot.model_server.client import ModelServerClient, ModelServerError
from bot.model_server.store import ModelStore, etag_matches
from tests.gateway.test_parts_alone import serving as serving_app
from tests.servers import free_port

Sanic.test_mode = True
TOKEN = "model-server-test-token-0123456789abcdef"


def fake_model(tag: str) -> bytes:
    """A small .tar.gz (the server checks the gzip magic, not Rasa's layout)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = f"model {tag}".encode()
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def serving(directory: Path):
    app = Sanic(f"model_server_{free_port()}")
    app.config.REQUEST_MAX_SIZE = 1 << 30
    app.blueprint(model_server_blueprint(ModelStore(directory), TOKEN))
    async with serving_app(app) as base:
        yield base


def run(test):
    """An async test run on its own loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def publish(
    http: aiohttp.ClientSession, base: str, name: str, body: bytes, headers=AUTH, params=None
) -> aiohttp.ClientResponse:
    async with http.put(f"{base}/models/{name}", data=body, headers=headers, params=params or {}) as reply:
        await reply.read()
        return reply


async def activate(http: aiohttp.ClientSession, base: str, name: str) -> int:
    async with http.post(f"{base}/models/{name}/activate", headers=AUTH) as reply:
        return reply.status


def test_etag_matching_follows_if_none_match():
    etag = '"abc123"'
    assert etag_matches('"abc123"', etag)
    assert etag_matches("abc123", etag)  # a client that dropped the quotes
    assert etag_matches('W/"abc123"', etag)
    assert etag_matches('"zzz", "abc123"', etag)
    assert etag_matches("*", etag)
    assert not etag_matches('"abc12"', etag)
    assert not etag_matches("", etag)
    assert not etag_matches("3f2b9c0e5d6a4b1c8e7f9a0b1c2d3e4f", etag)  # a new Rasa agent's random fingerprint


@run
async def test_active_model_with_etag_then_304_then_the_new_one_after_activation(tmp_path):
    first, second = fake_model("first"), fake_model("second")
    async with serving(tmp_path) as base, aiohttp.ClientSession() as http:
        assert (await publish(http, base, "model-a", first)).status == 201
        async with http.get(f"{base}/models/active", headers=AUTH) as reply:
            assert reply.status == 404  # published, not active yet
        assert await activate(http, base, "model-a") == 200

        async with http.get(f"{base}/models/active", headers=AUTH) as reply:
            assert reply.status == 200
            assert await reply.read() == first
            etag = reply.headers["ETag"]
            assert etag == f'"{hashlib.sha256(first).hexdigest()}"'
            assert reply.headers["filename"] == "model-a.tar.gz"
        async with http.get(f"{base}/models/active", headers={**AUTH, "If-None-Match": etag}) as reply:
            assert reply.status == 304
            assert await reply.read() == b""
            assert reply.headers["ETag"] == etag

        assert (await publish(http, base, "model-b", second)).status == 201
        assert await activate(http, base, "model-b") == 200
        async with http.get(f"{base}/models/active", headers={**AUTH, "If-None-Match": etag}) as reply:
            assert reply.status == 200
            assert await reply.read() == second
            assert reply.headers["filename"] == "model-b.tar.gz"
            assert reply.headers["ETag"] == f'"{hashlib.sha256(second).hexdigest()}"'

        # Rollback: the first model again, with its own ETag.
        assert await activate(http, base, "model-a") == 200
        async with http.get(f"{base}/models/active", headers={**AUTH, "If-None-Match": etag}) as reply:
            assert reply.status == 304
        async with http.get(f"{base}/models", headers=AUTH) as reply:
            listed = await reply.json()
        assert listed["active"] == "model-a"
        assert [(m["name"], m["active"]) for m in listed["models"]] == [("model-b", False), ("model-a", True)]
    # The artifacts are in the server's own folder.
    assert (tmp_path / "models" / "model-a.tar.gz").read_bytes() == first
    assert (tmp_path / "active").read_text().strip() == "model-a"


@run
async def test_every_route_but_health_needs_the_token(tmp_path):
    async with serving(tmp_path) as base, aiohttp.ClientSession() as http:
        assert (await publish(http, base, "model-a", fake_model("a"))).status == 201
        assert await activate(http, base, "model-a") == 200
        async with http.get(f"{base}/health") as reply:
            assert reply.status == 200
        for headers, params, status in [
            ({}, {}, 401),
            ({"Authorization": "Bearer wrong-token"}, {}, 403),
            ({}, {"token": "wrong-token"}, 403),
            ({"Authorization": f"Basic {TOKEN}"}, {}, 401),
        ]:
            async with http.get(f"{base}/models/active", headers=headers, params=params) as reply:
                assert reply.status == status
                assert b"metadata.json" not in await reply.read()
            async with http.get(f"{base}/models", headers=headers, params=params) as reply:
                assert reply.status == status
            assert (await publish(http, base, "model-x", fake_model("x"), headers=headers, params=params)).status == status
            async with http.post(f"{base}/models/model-a/activate", headers=headers, params=params) as reply:
                assert reply.status == status
        # Rasa's way: endpoints.yml's models: token: is sent as ?token=
        async with http.get(f"{base}/models/active", params={"token": TOKEN}) as reply:
            assert reply.status == 200
    assert not (tmp_path / "models" / "model-x.tar.gz").exists()


@run
async def test_publishing_refuses_bad_names_other_files_and_a_changed_model(tmp_path):
    async with serving(tmp_path) as base, aiohttp.ClientSession() as http:
        assert (await publish(http, base, "model-a", fake_model("a"))).status == 201
        assert (await publish(http, base, "model-a", fake_model("a"))).status == 200  # the same again: fine
        assert (await publish(http, base, "model-a", fake_model("changed"))).status == 409
        assert (await publish(http, base, "not-a-model", b"hello")).status == 400
        assert (await publish(http, base, ".hidden", fake_model("h"))).status == 400
        assert (await publish(http, base, "..%2Fescape", fake_model("e"))).status in (400, 404)
        assert await activate(http, base, "nobody") == 404
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["model-a.json", "model-a.tar.gz"]
    assert not (tmp_path / "active").exists()


@run
async def test_rasa_pulls_with_its_own_code_and_gets_304_once_it_has_the_model(tmp_path):
    """Rasa 3.6's own pull (rasa.core.agent._pull_model_and_fingerprint) against the server."""
    from rasa.core.agent import _pull_model_and_fingerprint
    from rasa.utils.endpoints import EndpointConfig

    model = fake_model("rasa")
    async with serving(tmp_path / "server") as base, aiohttp.ClientSession() as http:
        assert (await publish(http, base, "model-a", model)).status == 201
        assert await activate(http, base, "model-a") == 200
        endpoint = EndpointConfig(url=f"{base}/models/active", token=TOKEN, wait_time_between_pulls=1)
        first = tmp_path / "first"
        first.mkdir()
        # A new Agent's fingerprint is a random uuid4 hex (Agent._set_fingerprint).
        fingerprint = await _pull_model_and_fingerprint(endpoint, uuid.uuid4().hex, str(first))
        assert fingerprint == f'"{hashlib.sha256(model).hexdigest()}"'
        assert (first / "model-a.tar.gz").read_bytes() == model
        again = tmp_path / "again"
        again.mkdir()
        assert await _pull_model_and_fingerprint(endpoint, fingerprint, str(again)) is None
        assert list(again.iterdir()) == []
        wrong = EndpointConfig(url=f"{base}/models/active", token="wrong-token")
        assert await _pull_model_and_fingerprint(wrong, uuid.uuid4().hex, str(again)) is None
        assert list(again.iterdir()) == []


@run
async def test_the_trainer_client_publishes_when_needed_and_activates(tmp_path):
    model = tmp_path / "model-a.tar.gz"
    model.write_bytes(fake_model("a"))
    async with serving(tmp_path / "server") as base:
        client = ModelServerClient(base, TOKEN)
        assert (await client.publish_and_activate("model-a", model))["active"] is True
        # A rollback to a model the server has: no upload (the local file may be gone).
        model.unlink()
        await client.publish_and_activate("model-a", model)
        listed = await client.models()
        assert listed["active"] == "model-a"
        with pytest.raises(ModelServerError, match="403"):
            await ModelServerClient(base, "wrong-token").activate("model-a")
    with pytest.raises(ModelServerError, match="cannot be reached"):
        await ModelServerClient(base, TOKEN).activate("model-a")


def test_seed_publishes_the_image_model_only_when_nothing_is_active(tmp_path):
    store = ModelStore(tmp_path / "server")
    image_model = tmp_path / "qinkefu.tar.gz"
    image_model.write_bytes(fake_model("image"))
    seeded = store.seed(image_model)
    assert seeded is not None and seeded.name == "initial" and store.active() == seeded
    other = tmp_path / "other.tar.gz"
    other.write_bytes(fake_model("other"))
    store.publish_file("model-b", other)
    store.activate("model-b")
    assert store.seed(image_model) is None  # a restart keeps the trainer's choice
    assert store.active().name == "model-b"
    # A new image (another initial model) on a store whose active file was lost: a new name.
    (tmp_path / "server" / "active").unlink()
    reseeded = store.seed(other)
    assert reseeded is not None and reseeded.name.startswith("initial-") and reseeded.sha256 == store.get("model-b").sha256
    assert gzip.decompress(store.path(reseeded.name).read_bytes())


@run
async def test_the_trainer_swaps_and_rolls_back_through_the_model_server(tmp_path):
    """TrainingJobs.activate (the console's swap and rollback) with MODEL_SERVER_URL: no PUT /model
    to any replica; the model server's active model changes, and the model history follows it."""
    from bot.db_schema import GATEWAY
    from bot.gateway.store import GatewayStore
    from bot.training.delivery import ModelDelivery
    from bot.training.jobs import TrainingJobs
    from tests.conftest import migrated

    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
    models_dir = tmp_path / "project" / "models"
    models_dir.mkdir(parents=True)
    for name in ("initial", "model-2"):
        (models_dir / f"{name}.tar.gz").write_bytes(fake_model(name))
    try:
        async with serving(tmp_path / "server") as base:
            # A Rasa "replica" URL nothing listens on: a PUT /model there would fail the swap.
            jobs = TrainingJobs(
                store.engine,
                tmp_path / "project",
                ModelDelivery([f"http://127.0.0.1:{free_port()}"], model_server=ModelServerClient(base, TOKEN)),
            )
            jobs.register("initial", models_dir / "initial.tar.gz", {"accuracy": 0.9}, active=True)
            jobs.register("model-2", models_dir / "model-2.tar.gz", {"accuracy": 0.95}, active=False)
            served = ModelStore(tmp_path / "server")

            await jobs.activate("model-2")
            assert served.active().name == "model-2" and jobs.active()["name"] == "model-2"
            await jobs.activate("initial")  # rollback
            assert served.active().name == "initial" and jobs.active()["name"] == "initial"
            assert [m.name for m in served.history()] == ["initial", "model-2"]

            broken = TrainingJobs(
                store.engine, tmp_path / "project", ModelDelivery([], model_server=ModelServerClient(base, "wrong-token"))
            )
            with pytest.raises(RuntimeError, match="403"):
                await broken.activate("model-2")
            # A refused swap changes nothing.
            assert served.active().name == "initial" and jobs.active()["name"] == "initial"
    finally:
        store.close()
