#!/usr/bin/env python3
"""A TCP proxy that makes a loopback S3 endpoint answer like S3: each HTTP response starts
only after a delay (time to first byte), as S3's 10-100 ms per request.

    latency_proxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT --delay-ms 30 --jitter-ms 10

For every connection: bytes from the client go upstream at once; the first bytes of each
answer are held until DELAY +- JITTER milliseconds (uniform) after the request began, then
everything streams at full speed. A request begins when the client sends bytes while no
answer is pending (HTTP/1.1 keep-alive without pipelining, which every client here uses).
Listens on loopback only; runs until killed. Used by run.sh --latency-ms.
"""

import argparse
import asyncio
import random
import time


async def pump_up(reader, writer, state):
    """Client -> upstream; marks when a new request starts."""
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            if state["pending"] is None:
                state["pending"] = time.monotonic()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def pump_down(reader, writer, state, delay, jitter):
    """Upstream -> client; holds the first bytes of each answer until its delay is over."""
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            started = state["pending"]
            if started is not None:
                wait = delay + random.uniform(-jitter, jitter)
                remaining = started + max(wait, 0.0) - time.monotonic()
                if remaining > 0:
                    await asyncio.sleep(remaining)
                state["pending"] = None
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer, upstream, delay, jitter):
    host, port = upstream
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    state = {"pending": None}
    await asyncio.gather(
        pump_up(client_reader, up_writer, state),
        pump_down(up_reader, client_writer, state, delay, jitter),
    )


def address(text):
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "[::1]", "::1"):
        raise argparse.ArgumentTypeError("loopback addresses only")
    return host.strip("[]"), int(port)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=address, required=True)
    parser.add_argument("--upstream", type=address, required=True)
    parser.add_argument("--delay-ms", type=float, default=30.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    args = parser.parse_args()
    delay, jitter = args.delay_ms / 1000.0, args.jitter_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.upstream, delay, jitter),
        args.listen[0],
        args.listen[1],
        backlog=4096,
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
