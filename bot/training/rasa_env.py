"""Environment for the Rasa CLI run by the trainer workflow: endpoints.yml's ${...} values must
be set, or Rasa would create files literally named after them. They come from the settings
registry (bot/settings.py) like every other process's."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from bot.settings import child_environment


def rasa_env() -> Dict[str, str]:
    env = child_environment()
    Path(env["RASA_TRACKER_DB"]).parent.mkdir(parents=True, exist_ok=True)
    return env
