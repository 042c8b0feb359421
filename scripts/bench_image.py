"""Operator image build times and size: cold (no layer cache), warm (nothing changed), after a source edit.

A benchmark, not a test: it prints the numbers (and the commands) for docs/benchmarks.md. The build context is
a temporary copy of what the image needs (so the source edit does not touch the checkout); the base image is
the cached mmdebstrap root (tests/peers/image.py). A cold build downloads uv and every locked wheel again
(the Containerfile keeps no cache), so it depends on the network.
Usage: uv run python scripts/bench_image.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers import image  # noqa: E402 - the harness lives beside the scripts, not in the package

CONTEXT = (
    "Containerfile",
    ".containerignore",
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "src",
    "scripts/image_rootfs.py",
)


def copy_context(dest: Path) -> None:
    for rel in CONTEXT:
        src, out = ROOT / rel, dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, out)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        context, log = Path(tmp) / "context", Path(tmp) / "build.log"
        copy_context(context)
        tag = f"localhost/{image.IMAGE_REPOSITORY}:bench"
        argv = image.build_argv(tag=tag, base="BASE", version="V", iidfile=Path("IID"), context=context)
        print(f"base: {image.base_image()}; build command: {' '.join(argv)}")
        cold = image.build_image(log=log, tag=tag, no_cache=True, context=context)
        warm = image.build_image(log=log, tag=tag, context=context)
        module = context / "src" / "openbao_operator" / "cli" / "main.py"
        module.write_text(module.read_text() + "\n# benchmark edit\n")
        edit = image.build_image(log=log, tag=tag, context=context)
        image.remove_image(tag)
    print(f"image size (uncompressed, podman): {cold.size / 1e6:.1f} MB")
    print(f"cold build (--no-cache, downloads included): {cold.seconds:.1f} s")
    print(f"warm build (nothing changed):               {warm.seconds:.1f} s")
    print(f"after a one-line source edit:               {edit.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
