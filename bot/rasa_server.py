"""`python -m bot.rasa_server run ...`: Rasa's command line with the HTTP API token taken from
RASA_AUTH_TOKEN (so it never appears on a command line, where `ps` shows it to every local user)
and buyer tokens scrubbed from the logs. Refuses to start without a token."""

from __future__ import annotations

import os
import sys

from bot import log_scrub
from bot.settings import load_dotenv


def main() -> None:
    load_dotenv()  # like python -m bot: .env in the project folder, the environment wins
    token = os.environ.get("RASA_AUTH_TOKEN", "")
    if not token:
        sys.exit("error: RASA_AUTH_TOKEN is empty; `make run` generates one into var/secrets.env")
    if "--cors" in sys.argv:
        sys.exit("error: no --cors: nothing in a browser talks to Rasa directly")
    log_scrub.install()
    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
