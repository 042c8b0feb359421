"""The probe server over a real loopback socket: routes, statuses, bodies, and one request per connection."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter

from openbao_operator.runtime import HealthServer


async def _request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    answer = await _request(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert int(headers["Content-Length"]) == len(body) or method == "HEAD"
    return int(lines[0].split()[1]), headers, body.decode()


async def test_probes_metrics_and_unknown_routes() -> None:
    registry = CollectorRegistry()
    Counter("things_total", "things", registry=registry).inc()
    server = HealthServer(registry=registry, host="127.0.0.1", port=0)
    state = {"synced": False}
    server.liveness.append(("informers", lambda: None))
    server.readiness.append(("caches", lambda: None if state["synced"] else "not synced: Pod"))

    def broken() -> str | None:
        raise RuntimeError("boom")

    port = await server.start()
    try:
        assert port > 0
        assert await _get(port, "/healthz") == (200, {**_plain(3)}, "ok\n")
        status, _, body = await _get(port, "/readyz")
        assert (status, body) == (503, "[-] caches: not synced: Pod\n")
        state["synced"] = True
        assert (await _get(port, "/readyz?verbose"))[0] == 200
        status, headers, body = await _get(port, "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=")
        assert "things_total 1.0" in body
        assert (await _get(port, "/nothing"))[0] == 404
        assert (await _get(port, "/readyz", method="POST"))[0] == 405
        assert (await _get(port, "/healthz", method="HEAD"))[2] == ""
        server.liveness.append(("broken", broken))
        status, _, body = await _get(port, "/healthz")
        assert (status, body) == (503, "[-] broken: probe error: RuntimeError('boom')\n")
        assert await _request(port, b"nonsense\r\n\r\n") == b""  # no answer to what is not a request line
    finally:
        await server.stop()


def _plain(length: int) -> dict[str, str]:
    return {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(length), "Connection": "close"}
