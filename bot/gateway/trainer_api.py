"""The trainer console: intents, examples, templates, rules and stories (the project's YAML
documents, stored in the gateway database); candidates from agents' reviews; validation; training
jobs queued for the training worker, their progress, evaluation, swap and rollback. Trainers only:
agents get 403, everyone else 401. Every data call runs off the event loop (run_db)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Awaitable, Callable, Dict, List

from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.db_runner import DbRunner
from bot.gateway.staff_auth import COOKIES, StaffAuth, register_login, serve_console_assets, staff_only
from bot.review.queue import ReviewQueue
from bot.training.checks import validate
from bot.training.jobs import JobRunning, TrainingJobs
from bot.training.project_data import DataError, ProjectData

logger = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
TRAINER_ROLES = ("trainer",)


@dataclass
class TrainerServices:
    """What the trainer console needs. ``strings`` are gateway_strings.yml's "trainer" texts;
    ``preview_values`` gives the values templates are previewed with (a demo product and order)."""

    strings: Dict[str, Any]
    project: ProjectData
    queue: ReviewQueue
    jobs: TrainingJobs
    auth: StaffAuth
    preview_values: Callable[[], Awaitable[Dict[str, Any]]]
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)
    intent_names: Dict[str, str] = field(default_factory=dict)  # gateway_strings.yml's intent_names


def codes(error: DataError) -> List[Dict[str, Any]]:
    """What the console gets of a refusal: codes and values, worded by the page (trainer.errors)."""
    return [{"code": p["code"], "params": p["params"]} for p in error.problems]


def refused(error: DataError):
    return response.json({"errors": codes(error)}, status=409 if error.conflict else 400)


def failure(code: str, status: int, **params: Any):
    return response.json({"errors": [{"code": code, "params": params}]}, status=status)


def body(request: Request) -> Dict[str, Any]:
    return request.json if isinstance(request.json, dict) else {}


def trainer_blueprint(services: TrainerServices) -> Blueprint:
    """The console's page, strings, assets and login, and its API."""
    trainers_only = staff_only(services.auth, TRAINER_ROLES, "/trainer")
    bp = Blueprint("trainer_console")

    forbidden = Template((TEMPLATES / "forbidden.html").read_text(encoding="utf-8")).safe_substitute(
        title=services.strings.get("forbidden_title", ""),
        text=services.strings.get("forbidden_text", ""),
        login=services.strings.get("forbidden_login", ""),
    )

    @bp.get("/trainer")
    async def page(request: Request):
        # Staff of another role (an agent signed in at /agent) get the no-permission page, not a login form; its
        # link (?login) still leads to the form, for someone who also has a trainer account.
        if "login" not in request.args and await services.auth.who(request.cookies.get(COOKIES["/trainer"])) is None:
            other = await services.auth.who(request.cookies.get(COOKIES["/agent"]))
            if other is not None and other["role"] not in TRAINER_ROLES:
                return response.html(forbidden, status=403)
        return await response.file(TEMPLATES / "trainer.html")

    @bp.get("/trainer/strings")
    async def trainer_strings(_: Request):
        return response.json(services.strings)

    serve_console_assets(bp, "/trainer")

    # Sanic 21.12's listener decorator is typed for the bare form (@bp.listener without a name).
    @bp.listener("after_server_start")  # type: ignore[call-arg, arg-type]
    async def recover_jobs(_app, _loop) -> None:
        """A job a stopped gateway left running would block every later one: marked failed."""
        await services.run_db(services.jobs.recover_interrupted)

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
    project, run_db = services.project, services.run_db

    async def edited(edit: Callable[..., None], *args: Any):
        """One edit (a ProjectData write, by the signed-in trainer): {"ok": true}, or the refusal's codes."""
        try:
            await run_db(edit, *args)
        except DataError as error:
            return refused(error)
        return response.json({"ok": True})

    async def slot_names() -> List[str]:
        domain = await run_db(project.domain)
        return list((domain.get("slots") or {}).keys())

    @bp.get("/trainer/api/intents")
    @trainers_only
    async def intents(_: Request, who):
        found = await run_db(project.intents)
        listed = [{**intent, "label": services.intent_names.get(intent["name"], "")} for intent in found.values()]
        return response.json({"intents": listed, "variables": await slot_names()})

    @bp.post("/trainer/api/intents")
    @trainers_only
    async def create_intent(request: Request, who):
        data = body(request)
        examples = data.get("examples")
        examples = examples if isinstance(examples, list) else []
        return await edited(project.by(who["username"]).add_intent, str(data.get("name") or ""), [str(e) for e in examples])

    @bp.post("/trainer/api/intents/<name>/examples")
    @trainers_only
    async def add_example(request: Request, who, name: str):
        return await edited(project.by(who["username"]).add_example, name, str(body(request).get("text") or ""))

    @bp.put("/trainer/api/intents/<name>/examples")
    @trainers_only
    async def edit_example(request: Request, who, name: str):
        data = body(request)
        return await edited(
            project.by(who["username"]).edit_example, name, str(data.get("old") or ""), str(data.get("text") or "")
        )

    @bp.delete("/trainer/api/intents/<name>/examples", ignore_body=False)  # Sanic drops a DELETE body by default
    @trainers_only
    async def delete_example(request: Request, who, name: str):
        return await edited(project.by(who["username"]).delete_example, name, str(body(request).get("text") or ""))

    @bp.put("/trainer/api/responses/<name>")
    @trainers_only
    async def save_response(request: Request, who, name: str):
        texts = body(request).get("texts")
        texts = [str(t) for t in texts] if isinstance(texts, list) else []
        return await edited(project.by(who["username"]).set_response, name, texts, await slot_names())

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
        return await edited(project.by(who["username"]).add_rule, str(data.get("intent") or ""), str(data.get("response") or ""))

    @bp.post("/trainer/api/stories")
    @trainers_only
    async def add_story(request: Request, who):
        data = body(request)
        steps = data.get("steps")
        steps = steps if isinstance(steps, list) else []
        steps = [{k: str(v) for k, v in s.items() if k in ("intent", "action")} for s in steps if isinstance(s, dict)]
        return await edited(project.by(who["username"]).add_story, str(data.get("name") or ""), steps)


def _candidate_routes(bp: Blueprint, services: TrainerServices, trainers_only: Callable) -> None:
    """Examples proposed by agents' reviews and by low-confidence turns."""
    project, queue, run_db = services.project, services.queue, services.run_db

    @bp.get("/trainer/api/candidates")
    @trainers_only
    async def candidates(_: Request, who):
        found = await run_db(queue.candidates, "open")
        return response.json(
            {
                "candidates": [
                    {
                        **{k: c[k] for k in ("id", "text", "predicted_intent", "correct_intent", "source")},
                        "predicted_label": services.intent_names.get(c["predicted_intent"] or "", ""),
                    }
                    for c in found
                ]
            }
        )

    @bp.post("/trainer/api/candidates/<candidate_id:int>/accept")
    @trainers_only
    async def accept_candidate(request: Request, who, candidate_id: int):
        candidate = await run_db(queue.candidate, candidate_id)
        if candidate is None:
            return failure("candidate_not_found", 404)
        try:
            await run_db(project.by(who["username"]).add_example, str(body(request).get("intent") or ""), candidate["text"])
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
        # `rasa data validate` takes a while: the loop's default executor, not the database pool.
        result = await asyncio.get_running_loop().run_in_executor(None, validate, project)
        problems = [{k: p[k] for k in ("level", "code", "params")} for p in result["problems"]]
        return response.json({"ok": result["ok"], "problems": problems})

    @bp.post("/trainer/api/train")
    @trainers_only
    async def train(request: Request, who):
        try:
            job = await jobs.enqueue_async(confirm_worse=bool(body(request).get("confirm_worse")))
        except JobRunning:
            return failure("job_running", 409)
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
            return failure("model_not_found", 404, name=name)
        except RuntimeError:
            logger.exception("loading model %s into Rasa failed", name)
            return failure("rasa_refused", 502, name=name)
        return response.json({"ok": True})

    @bp.get("/trainer/api/report/<name>")
    @trainers_only
    async def report(_: Request, who, name: str):
        found = await run_db(jobs.report, name)
        return response.json(found) if found else failure("report_not_found", 404, name=name)

    @bp.get("/trainer/reports/<name>/<filename>")
    @trainers_only
    async def report_file(_: Request, who, name: str, filename: str):
        found = await run_db(jobs.model, name)
        if found is None or filename != "intent_confusion_matrix.png" or not found["report_dir"]:
            return failure("not_found", 404)
        return await response.file(Path(found["report_dir"]) / filename)


def demo_preview_values(orders) -> Dict[str, Any]:
    """Values of a real demo product and order for previewing templates."""
    values: Dict[str, Any] = {}
    for product in orders.list_products()[:1]:
        values.update(product=product.name, material=product.material, price=f"{product.lowest_price:g}")
    for order in orders.recent_orders(1):
        values.update(order_id=order.id, courier=order.courier or "", tracking_no=order.tracking_no or "")
    return values
