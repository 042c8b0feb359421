"""The Containerfile's promises that can be read off the files: a locked build, the same uv as the scripts,
non-root, the entrypoint, a base that users can pull; the peers that build it are pinned consistently."""

from __future__ import annotations

import re
import resource
from pathlib import Path

from tests.peers import image, pins

ROOT = pins.REPO_ROOT
CONTAINERFILE = (ROOT / "Containerfile").read_text()


def _arg_default(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", CONTAINERFILE, re.MULTILINE)
    assert m, f"ARG {name} with a default is missing"
    return m.group(1)


def test_uv_is_the_version_the_scripts_use() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    m = re.search(r"^UV_VERSION=(\S+)$", setup, re.MULTILINE)
    assert m
    assert _arg_default("UV_VERSION") == m.group(1)


def test_base_defaults_to_an_official_python_image() -> None:
    assert re.fullmatch(r"docker\.io/library/python:3\.1[1-9][-\w.]*", _arg_default("BASE"))
    assert CONTAINERFILE.count("FROM ${BASE}") == 2


def test_dependencies_come_from_the_lock_file() -> None:
    syncs = re.findall(r"uv sync [^\n;]*", CONTAINERFILE)
    assert len(syncs) == 2
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)


def test_runtime_stage_is_non_root_with_the_operator_as_entrypoint() -> None:
    final = CONTAINERFILE[CONTAINERFILE.index("FROM scratch") :]
    assert "USER 65532:65532" in final
    assert 'ENTRYPOINT ["openbao-operator"]' in final
    assert 'CMD ["run"]' in final
    assert re.findall(r"^COPY .*$", final, re.MULTILINE) == ["COPY --from=rootfs /rootfs /"]


def test_the_ca_bundle_is_only_ever_a_secret_mount() -> None:
    assert "cacert" not in "".join(re.findall(r"^COPY .*$", CONTAINERFILE, re.MULTILINE))
    for line in CONTAINERFILE.splitlines():
        if "/run/secrets/cacert" in line:
            assert "export" in line or "-s /run/secrets/cacert" in line, line
    assert CONTAINERFILE.count("--mount=type=secret,id=cacert") == 3


def test_build_context_holds_what_the_containerfile_copies() -> None:
    allowed = {line[1:].rstrip("/") for line in (ROOT / ".containerignore").read_text().splitlines()
               if line.startswith("!")}  # fmt: skip
    sources = set()
    for line in re.findall(r"^COPY (?!--from)(.*)$", CONTAINERFILE, re.MULTILINE):
        sources |= set(line.split()[:-1])
    assert sources <= allowed, sources - allowed
    assert all((ROOT / s).exists() for s in sources)


def test_build_argv_passes_base_version_and_the_ca_secret() -> None:
    argv = image.build_argv(tag="t", base="localhost/b:1", version="9.9.9", iidfile=Path("/tmp/iid"))
    assert "--build-arg=BASE=localhost/b:1" in argv
    assert "--build-arg=VERSION=9.9.9" in argv
    assert "--label=org.opencontainers.image.version=9.9.9" in argv
    bundle = image.ca_bundle()
    if bundle is not None:
        assert f"--secret=id=cacert,src={bundle}" in argv
    assert argv[-1] == str(ROOT)


def test_containers_conf_stays_within_this_hosts_limits() -> None:
    text = image.containers_conf_text()
    assert 'runtime = "runc"' in text
    assert 'cgroup_manager = "cgroupfs"' in text
    nofile = int(re.search(r'"nofile=(\d+):\d+"', text).group(1))  # type: ignore[union-attr]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard == resource.RLIM_INFINITY or nofile <= hard


def test_kubectl_is_built_from_the_same_kubernetes_release() -> None:
    kube, kubectl = pins.peer("kubernetes"), pins.peer("kubectl")
    for key in ("version", "staging_version", "module", "build_tags"):
        assert kubectl.pin[key] == kube.pin[key], key


def test_image_base_is_keyed_by_its_inputs() -> None:
    base = pins.peer("image-base")
    assert base.version == pins.input_key(base.pin)
    changed = dict(base.pin, include=[*base.pin["include"], "curl"])
    assert pins.input_key(changed) != base.version
