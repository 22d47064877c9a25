"""A small TCP forwarder: `python -m tests.production.forward LISTEN_HOST PORT:TARGET_HOST:TARGET_PORT ...`.
The cross-host fault test runs it in the root network namespace (the data services' host) so that
PostgreSQL, Redis and RabbitMQ, which listen on 127.0.0.1 and are not reconfigured, are reached
from the other hosts at the bridge address. Prints "ready" once every port listens."""

from __future__ import annotations

import asyncio
import sys
from typing import List, Tuple


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


def handler(target_host: str, target_port: int):
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    return handle


async def main(listen_host: str, routes: List[Tuple[int, str, int]]) -> None:
    servers = [await asyncio.start_server(handler(host, port), listen_host, listen) for listen, host, port in routes]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    parsed = []
    for route in sys.argv[2:]:
        listen, host, port = route.split(":")
        parsed.append((int(listen), host, int(port)))
    asyncio.run(main(sys.argv[1], parsed))
