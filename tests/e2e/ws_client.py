#!/usr/bin/python3
"""A WebSocket client for the e2e tests (Debian's python3-websockets).

ws_client.py URL MESSAGE                  send MESSAGE, print the answer, close
ws_client.py URL --hold PREFIX SECONDS    connect, then each 0.2 s send PREFIX-N and check
                                          that the answer ends with it; print each answer,
                                          and at the end "closed CODE" (the server closed
                                          the connection with CODE) or "open" (it still
                                          was after SECONDS). Exit 1 on a wrong answer or
                                          a connection that broke without a close frame.
TLS certificates are not verified (the sandbox's is self-signed).
"""
import asyncio
import ssl
import sys
import time

import websockets


def context(url):
    if not url.startswith("wss:"):
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def once(url, message):
    async with websockets.connect(url, ssl=context(url), open_timeout=10) as ws:
        await ws.send(message)
        print(await asyncio.wait_for(ws.recv(), 10))


async def hold(url, prefix, seconds):
    end = time.monotonic() + seconds
    async with websockets.connect(url, ssl=context(url), open_timeout=10, ping_interval=None) as ws:
        n = 0
        while time.monotonic() < end:
            message = f"{prefix}-{n}"
            try:
                await ws.send(message)
                answer = await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosedOK as closed:
                print(f"closed {closed.rcvd.code if closed.rcvd else 'none'}", flush=True)
                return 0
            except websockets.ConnectionClosedError as broken:
                print(f"broken {broken}", flush=True)
                return 1
            print(answer, flush=True)
            if not answer.endswith(message):
                print(f"wrong answer to {message}", flush=True)
                return 1
            n += 1
            await asyncio.sleep(0.2)
        print("open", flush=True)
        return 0


def main():
    if len(sys.argv) == 5 and sys.argv[2] == "--hold":
        return asyncio.run(hold(sys.argv[1], sys.argv[3], float(sys.argv[4])))
    if len(sys.argv) == 3:
        asyncio.run(once(sys.argv[1], sys.argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
