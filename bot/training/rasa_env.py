"""Environment for the Rasa CLI run by the trainer workflow: endpoints.yml's ${...} values must
be set, or Rasa would create files literally named after them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict


def rasa_env(project_root: Path) -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("ACTION_PORT", "5055")
    var = Path(project_root) / "var"
    var.mkdir(parents=True, exist_ok=True)
    env.setdefault("RASA_TRACKER_DB", str(var / "trainer-tracker.db"))
    return env
