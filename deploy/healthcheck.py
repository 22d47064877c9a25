"""Health check of one container of the project's image (deploy/Dockerfile's HEALTHCHECK, and the
Rasa readiness probe in deploy/kubernetes/).

    python deploy/healthcheck.py             the process of this container answers its health
                                             route: the gateway's /health, the action server's
                                             /health, the model server's /health, Rasa's / or the
                                             event consumer's /health
                                             (a container runs one of them)
    python deploy/healthcheck.py rasa-model  Rasa has a model loaded (/status, with
                                             RASA_AUTH_TOKEN); Rasa's / answers without one

Ports and the token come from the settings registry (bot/settings.py), like every process of the
project. Exit status 0: healthy; 1: not.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request

from bot import settings

TIMEOUT_SECONDS = 4


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as reply:
            return reply.status == 200
    except OSError:
        return False


def process_healthy() -> bool:
    routes = [
        (settings.get("GATEWAY_PORT"), "/health"),
        (settings.get("ACTION_PORT"), "/health"),
        (settings.get("MODEL_SERVER_PORT"), "/health"),
        (settings.get("RASA_PORT"), "/"),
        (settings.get("EVENTS_PORT"), "/health"),
    ]
    return any(answers(f"http://127.0.0.1:{port}{path}") for port, path in routes)


def rasa_has_model() -> bool:
    token = settings.get("RASA_AUTH_TOKEN") or ""
    url = f"http://127.0.0.1:{settings.get('RASA_PORT')}/status?{urllib.parse.urlencode({'token': token})}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as reply:
            return bool(json.load(reply).get("model_file"))
    except (OSError, ValueError):
        return False


def main(argv: list) -> int:
    if argv[:1] == ["rasa-model"]:
        return 0 if rasa_has_model() else 1
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if process_healthy() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
