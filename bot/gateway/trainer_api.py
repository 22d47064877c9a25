"""The trainer console: intents, examples, templates, rules and stories written into the project's
YAML files; candidates from agents' reviews; validation; training, evaluation, swap and rollback.
Trainers only: agents get 403, everyone else 401."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.db_runner import DbRunner
from bot.gateway.staff_auth import StaffAuth, register_login, serve_console_assets, staff_only
from bot.review.queue import ReviewQueue
from bot.training.checks import validate
from bot.training.jobs import JobRunning, TrainingJobs
from bot.training.project_data import DataError, ProjectData

TEMPLATES = Path(__file__).resolve().parent / "templates"
TRAINER_ROLES = ("trainer",)


@dataclass
class TrainerServices:
    """What the trainer console needs. ``strings`` are gateway_strings.yml's "trainer" texts;
    ``preview_values`` gives the values templates are previewed with (a demo product and order)."""

    strings: Dict[str, str]
    project: ProjectData
    queue: ReviewQueue
    jobs: TrainingJobs
    auth: StaffAuth
    preview_values: Callable[[], Awaitable[Dict[str, Any]]]
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)


def refused(error: DataError):
    return response.json({"errors": error.errors}, status=409 if error.conflict else 400)


def body(request: Request) -> Dict[str, Any]:
    return request.json if isinstance(request.json, dict) else {}


def trainer_blueprint(services: TrainerServices) -> Blueprint:
    """The console's page, strings, assets and login, and its API."""
    trainers_only = staff_only(services.auth, TRAINER_ROLES, "/trainer")
    bp = Blueprint("trainer_console")

    @bp.get("/trainer")
    async def page(_: Request):
        return await response.file(TEMPLATES / "trainer.html")

    @bp.get("/trainer/strings")
    async def trainer_strings(_: Request):
        return response.json(services.strings)

    serve_console_assets(bp, "/trainer")

    register_login(bp, services.auth, "/trainer", TRAINER_ROLES)

    @bp.get("/trainer/api/me")
    @trainers_only
    async def me(_: Request, who):
        return response.json(who)

    _data_routes(bp, services, trainers_only)
    _candidate_routes(bp, services, trainers_only)
    _model_routes(bp, services, trainers_only)
    return bp


def _data_routes(bp: Blueprint, services: TrainerServices, trainers_only: Callable) -> None:
    """Intents, examples, templates (and their preview), rules and stories in the project's YAML."""
    project = services.project

    @bp.get("/trainer/api/intents")
    @trainers_only
    async def intents(_: Request, who):
        return response.json({"intents": list(project.intents().values())})

    @bp.post("/trainer/api/intents")
    @trainers_only
    async def create_intent(request: Request, who):
        data = body(request)
        examples = data.get("examples")
        examples = examples if isinstance(examples, list) else []
        try:
            project.add_intent(str(data.get("name") or ""), [str(e) for e in examples])
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    @bp.post("/trainer/api/intents/<name>/examples")
    @trainers_only
    async def add_example(request: Request, who, name: str):
        try:
            project.add_example(name, str(body(request).get("text") or ""))
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    @bp.delete("/trainer/api/intents/<name>/examples")
    @trainers_only
    async def delete_example(request: Request, who, name: str):
        try:
            project.delete_example(name, str(body(request).get("text") or ""))
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    @bp.put("/trainer/api/responses/<name>")
    @trainers_only
    async def save_response(request: Request, who, name: str):
        texts = body(request).get("texts")
        texts = [str(t) for t in texts] if isinstance(texts, list) else []
        slots = list((project.domain().get("slots") or {}).keys())
        try:
            project.set_response(name, texts, slots)
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    @bp.post("/trainer/api/preview")
    @trainers_only
    async def preview(request: Request, who):
        text = str(body(request).get("text") or "")
        values = await services.preview_values()
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        return response.json({"text": text, "values": values})

    @bp.post("/trainer/api/rules")
    @trainers_only
    async def add_rule(request: Request, who):
        data = body(request)
        try:
            project.add_rule(str(data.get("intent") or ""), str(data.get("response") or ""))
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    @bp.post("/trainer/api/stories")
    @trainers_only
    async def add_story(request: Request, who):
        data = body(request)
        steps = data.get("steps")
        steps = steps if isinstance(steps, list) else []
        steps = [{k: str(v) for k, v in s.items() if k in ("intent", "action")} for s in steps if isinstance(s, dict)]
        try:
            project.add_story(str(data.get("name") or ""), steps)
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})


def _candidate_routes(bp: Blueprint, services: TrainerServices, trainers_only: Callable) -> None:
    """Examples proposed by agents' reviews and by low-confidence turns."""
    project, queue, run_db = services.project, services.queue, services.run_db

    @bp.get("/trainer/api/candidates")
    @trainers_only
    async def candidates(_: Request, who):
        found = await run_db(queue.candidates, "open")
        return response.json(
            {"candidates": [{k: c[k] for k in ("id", "text", "predicted_intent", "correct_intent", "source")} for c in found]}
        )

    @bp.post("/trainer/api/candidates/<candidate_id:int>/accept")
    @trainers_only
    async def accept_candidate(request: Request, who, candidate_id: int):
        candidate = await run_db(queue.candidate, candidate_id)
        if candidate is None:
            return response.json({"errors": ["no such candidate"]}, status=404)
        try:
            project.add_example(str(body(request).get("intent") or ""), candidate["text"])
        except DataError as error:
            return refused(error)
        await run_db(queue.close_candidate, candidate_id, "accepted")
        return response.json({"ok": True})

    @bp.post("/trainer/api/candidates/<candidate_id:int>/dismiss")
    @trainers_only
    async def dismiss_candidate(_: Request, who, candidate_id: int):
        await run_db(queue.close_candidate, candidate_id, "dismissed")
        return response.json({"ok": True})


def _model_routes(bp: Blueprint, services: TrainerServices, trainers_only: Callable) -> None:
    """Validation, training, the models trained, their reports, activation (rollback)."""
    project, jobs, run_db = services.project, services.jobs, services.run_db

    @bp.post("/trainer/api/validate")
    @trainers_only
    async def run_validation(_: Request, who):
        return response.json(await asyncio.get_running_loop().run_in_executor(None, validate, project))

    @bp.post("/trainer/api/train")
    @trainers_only
    async def train(request: Request, who):
        try:
            job = await jobs.start_async(confirm_worse=bool(body(request).get("confirm_worse")))
        except JobRunning as error:
            return response.json({"errors": [str(error)]}, status=409)
        return response.json({"job": job})

    @bp.get("/trainer/api/train")
    @trainers_only
    async def job_status(_: Request, who):
        return response.json({"job": await run_db(jobs.latest)})

    @bp.get("/trainer/api/models")
    @trainers_only
    async def model_history(_: Request, who):
        return response.json({"models": await run_db(jobs.history)})

    @bp.post("/trainer/api/models/<name>/activate")
    @trainers_only
    async def activate(_: Request, who, name: str):
        try:
            await jobs.activate(name)
        except KeyError:
            return response.json({"errors": ["no such model"]}, status=404)
        except RuntimeError as error:
            return response.json({"errors": [str(error)]}, status=502)
        return response.json({"ok": True})

    @bp.get("/trainer/api/report/<name>")
    @trainers_only
    async def report(_: Request, who, name: str):
        found = await run_db(jobs.report, name)
        return response.json(found) if found else response.json({"errors": ["no report"]}, status=404)

    @bp.get("/trainer/reports/<name>/<filename>")
    @trainers_only
    async def report_file(_: Request, who, name: str, filename: str):
        found = await run_db(jobs.model, name)
        if found is None or filename != "intent_confusion_matrix.png" or not found["report_dir"]:
            return response.json({"errors": ["not found"]}, status=404)
        return await response.file(Path(found["report_dir"]) / filename)


def demo_preview_values(orders) -> Dict[str, Any]:
    """Values of a real demo product and order for previewing templates."""
    values: Dict[str, Any] = {}
    for product in orders.list_products()[:1]:
        values.update(product=product.name, material=product.material, price=f"{product.lowest_price:g}")
    for order in orders.recent_orders(1):
        values.update(order_id=order.id, courier=order.courier or "", tracking_no=order.tracking_no or "")
    return values
