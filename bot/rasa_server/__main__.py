"""`python -m bot.rasa_server <rasa command> ...`: the one entry point of every Rasa process of the
project (`run`, `train`, `test`, `shell`, `data validate`; the Makefile, the supervisor, the
trainer's jobs and the suite all start Rasa through it). It installs the project's Rasa patches
(`bot.rasa_server.patches`, which check the Rasa version first) and scrubs buyer tokens from the
logs. It checks the settings (bot/settings.py) and gives Rasa the defaults of what it reads itself
(endpoints.yml's ACTION_PORT and RASA_TRACKER_DB, TF_CPP_MIN_LOG_LEVEL ...). For `run`, the HTTP
API token is taken from RASA_AUTH_TOKEN (so it never appears on a command line, where `ps` shows
it to every local user); it refuses to start without one, or with `--cors`."""

from __future__ import annotations

import os
import sys

from bot import log_scrub, settings
from bot.rasa_server import patches


def main() -> None:
    settings.load_dotenv()  # like python -m bot: .env in the project folder, the environment wins
    problems = settings.check()
    if problems:
        sys.exit("\n".join(f"error: {problem}" for problem in problems))
    os.environ.update(settings.exported_defaults())  # before Rasa and its libraries are imported
    arguments = sys.argv[1:]
    if arguments[:1] == ["run"]:
        token = settings.get("RASA_AUTH_TOKEN")
        if not token:
            sys.exit("error: RASA_AUTH_TOKEN is empty; `make run` generates one into var/secrets.env")
        if "--cors" in arguments:
            sys.exit("error: no --cors: nothing in a browser talks to Rasa directly")
        # One argument: a token that starts with "-" (token_urlsafe makes one in 64) is still a value.
        arguments = [*arguments, f"--auth-token={token}"]
    try:
        patches.install()
    except patches.RasaPatchError as error:
        sys.exit(f"error: {error}")
    log_scrub.install()
    sys.argv = ["rasa", *arguments]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
