"""Collect the operator image's root filesystem: the Python runtime and the virtualenv, nothing else.

Run by the Containerfile's ``rootfs`` stage (``python3 image_rootfs.py VENV DEST``) on the base image.
Why an allow-list rather than deleting what is not wanted: the image must hold no package manager, no
compiler and no shell, whatever the base ships (an official Python image, or the Debian root this project
builds with mmdebstrap). So only these are copied to DEST, each with the symlinks on its path:

- the interpreter and its standard library, minus the parts a server never imports (tests, IDLE, Tk,
  ensurepip, lib2to3, distutils, curses, dbm, sqlite3) and minus site-packages (pip, setuptools);
- the virtualenv with the operator and its locked dependencies;
- every shared library those ELF files need (their ``ldd`` closure) plus libgcc_s, which glibc loads on
  demand when a thread exits;
- CA certificates, the OpenSSL configuration, os-release, nsswitch.conf, a passwd/group with root and
  ``nonroot`` (65532), /tmp, and the Debian package records of exactly the packages whose files were kept
  (``/var/lib/dpkg/status.d/<package>``, the layout distroless uses), so image scanners still see what is
  inside without dpkg being there; the same packages are added to the SBOM the builder stage wrote
  from uv.lock (``<venv>/sbom.cdx.json``), and locked packages not installed on this platform are dropped
  from it, so it describes this image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from urllib.parse import quote

#: Standard-library entries a server never imports (directories or modules, relative to the stdlib).
STDLIB_SKIP = {
    "ensurepip",
    "idlelib",
    "tkinter",
    "turtledemo",
    "turtle.py",
    "lib2to3",
    "test",
    "unittest/test",
    "pydoc_data",
    "distutils",
    "curses",
    "dbm",
    "sqlite3",
    "venv",
    "site-packages",
    "dist-packages",
}
#: Extension modules left out with them (and the libraries only they need: ncurses, readline, gdbm, sqlite).
DYNLOAD_SKIP = re.compile(
    r"^(_test|_xx|xxlimited|_curses|readline|nis|ossaudiodev|audioop|_dbm|_gdbm|_sqlite3|_tkinter|_ctypes_test)"
)
EXTRA_PATHS = [
    "/etc/ssl",
    "/usr/lib/ssl",
    "/usr/share/ca-certificates",
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/nsswitch.conf",
]
#: /etc/passwd of the image (its second field is "x": no password in it).
USERS_FILE = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:openbao-operator:/home/nonroot:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"
UID = 65532


class Collector:
    """Copies paths from / into ``dest`` with every symlink on the way, remembering what was copied."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.copied: set[str] = set()

    def add(self, path: str | Path) -> None:
        """Copy ``path`` (file, symlink or whole directory tree), recreating symlinked parents."""
        real = self._add_parents(Path(os.path.abspath(path)))
        if real is None:
            return
        self._copy(real)

    def _add_parents(self, path: Path) -> Path | None:
        """Recreate symlinked directories on ``path`` in dest; returns ``path`` with them resolved."""
        current = Path("/")
        parts = path.parts[1:]
        for i, part in enumerate(parts):
            candidate = current / part
            if not candidate.exists() and not candidate.is_symlink():
                return None
            if candidate.is_symlink() and i < len(parts) - 1:
                self._copy_link(candidate)
                current = Path(os.path.realpath(candidate))
            else:
                current = candidate
        return current

    def _copy_link(self, link: Path) -> None:
        """Recreate symlink ``link``; a file target is copied too, a directory target only created (what
        is needed inside it is added path by path)."""
        target = os.readlink(link)
        out = self.dest / link.relative_to("/")
        if not out.is_symlink():
            out.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, out)
        self.copied.add(str(link))
        resolved = Path(os.path.realpath(link))
        if resolved.is_dir():
            self._add_parents(resolved)
            made = self.dest / resolved.relative_to("/")
            made.mkdir(parents=True, exist_ok=True)
            shutil.copystat(resolved, made)
        else:
            self.add(link.parent / target)

    def _copy(self, path: Path) -> None:
        if str(path) in self.copied:
            return
        if path.is_symlink():
            self._copy_link(path)
            return
        out = self.dest / path.relative_to("/")
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            shutil.copystat(path, out)
            self.copied.add(str(path))
            for child in sorted(path.iterdir()):
                self._copy(child)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out, follow_symlinks=False)
        self.copied.add(str(path))

    def add_tree(self, root: Path, *, skip: set[str], skip_dynload: re.Pattern[str] | None = None) -> None:
        """Copy directory ``root`` except the entries named (relative to it) in ``skip``."""
        real_root = self._add_parents(Path(os.path.abspath(root)))
        if real_root is None:
            return
        for dirpath, dirnames, filenames in os.walk(real_root):
            here = Path(dirpath)
            rel = here.relative_to(real_root)
            out = self.dest / here.relative_to("/")
            out.mkdir(parents=True, exist_ok=True)
            shutil.copystat(here, out)
            self.copied.add(str(here))
            kept_dirs = []
            for d in dirnames:
                if (rel / d).as_posix() in skip:
                    continue
                if (here / d).is_symlink():  # os.walk does not descend into links: the link, then its tree
                    self.add(here / d)
                    self.add(os.path.realpath(here / d))
                else:
                    kept_dirs.append(d)
            dirnames[:] = kept_dirs
            for name in filenames:
                if (rel / name).as_posix() in skip:
                    continue
                if skip_dynload is not None and here.name == "lib-dynload" and skip_dynload.match(name):
                    continue
                self.add(here / name)


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def needed_libraries(elf: Path) -> set[str]:
    """The shared libraries (and the loader) ``elf`` needs, as ``ldd`` resolves them."""
    res = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False, timeout=60)
    if res.returncode != 0:
        if "not a dynamic executable" in res.stdout + res.stderr or "statically linked" in res.stdout:
            return set()
        raise SystemExit(f"ldd {elf} failed: {res.stderr.strip()}")
    out: set[str] = set()
    for line in res.stdout.splitlines():
        if "not found" in line:
            raise SystemExit(f"{elf}: a library is missing: {line.strip()}")
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s*\(", line)
        if m:
            out.add(m.group(1))
    return out


def add_libraries(c: Collector) -> None:
    """The ``ldd`` closure of every ELF file collected so far, plus libgcc_s (loaded by glibc on demand)."""
    elves = [Path(p) for p in sorted(c.copied) if not Path(p).is_symlink() and Path(p).is_file() and is_elf(Path(p))]
    libs: set[str] = set()
    for elf in elves:
        libs |= needed_libraries(elf)
    for pattern in ("/usr/lib/*/libgcc_s.so.1", "/lib/*/libgcc_s.so.1"):
        libs |= {str(p) for p in Path("/").glob(pattern.lstrip("/"))}
    for lib in sorted(libs):
        c.add(lib)


def dpkg_records(c: Collector) -> list[dict[str, str]]:
    """``status.d/<package>`` for each Debian package owning a kept file (none when the base has no dpkg);
    returns those packages (name, version, architecture)."""
    info = Path("/var/lib/dpkg/info")
    status = Path("/var/lib/dpkg/status")
    if not info.is_dir() or not status.is_file():
        return []
    kept = {os.path.realpath(p) for p in c.copied if Path(p).is_file()}
    owners: set[str] = set()
    for listing in info.glob("*.list"):
        files = {os.path.realpath(line) for line in listing.read_text(errors="replace").splitlines() if line}
        if files & kept:
            owners.add(listing.name.removesuffix(".list").split(":")[0])
    out = c.dest / "var/lib/dpkg/status.d"
    out.mkdir(parents=True, exist_ok=True)
    packages = []
    for stanza in status.read_text(errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.MULTILINE))
        name = fields.get("Package", "")
        if name in owners and fields.get("Status") == "install ok installed":
            (out / name).write_text(stanza.strip() + "\n")
            packages.append({"name": name, "version": fields["Version"], "arch": fields.get("Architecture", "")})
    return sorted(packages, key=lambda p: p["name"])


def os_release_id() -> str:
    """``debian-12`` style distro qualifier for package URLs, from os-release."""
    text = Path("/etc/os-release").read_text() if Path("/etc/os-release").is_file() else ""
    fields = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', text, re.MULTILINE))
    return f"{fields.get('ID', 'linux')}-{fields.get('VERSION_ID', '')}".rstrip("-")


def installed_distributions(venv: Path) -> set[tuple[str, str]]:
    """(normalized name, version) of every distribution in the virtualenv, from its dist-info METADATA."""
    out = set()
    for metadata in venv.glob("lib/python*/site-packages/*.dist-info/METADATA"):
        fields = dict(re.findall(r"^(Name|Version): (.*)$", metadata.read_text(errors="replace"), re.MULTILINE))
        out.add((re.sub(r"[-_.]+", "-", fields["Name"]).lower(), fields["Version"].strip()))
    return out


def finish_sbom(sbom: Path, *, venv: Path, packages: list[dict[str, str]]) -> None:
    """Make the SBOM the builder exported from uv.lock describe this image: drop locked packages that are
    not installed here (uv exports every platform's, e.g. emscripten-only ones) and add the kept Debian
    packages."""
    if not sbom.is_file():
        return
    doc = json.loads(sbom.read_text())
    installed = installed_distributions(venv)
    kept, dropped = [], set()
    for comp in doc.get("components", []):
        pypi = str(comp.get("purl", "")).startswith("pkg:pypi/")
        if pypi and (re.sub(r"[-_.]+", "-", comp["name"]).lower(), comp["version"]) not in installed:
            dropped.add(comp["bom-ref"])
        else:
            kept.append(comp)
    deps = [
        dict(d, dependsOn=[r for r in d.get("dependsOn", []) if r not in dropped])
        for d in doc.get("dependencies", [])
        if d["ref"] not in dropped
    ]
    distro = os_release_id()
    for p in packages:
        purl = f"pkg:deb/{distro.split('-')[0]}/{p['name']}@{quote(p['version'])}?arch={p['arch']}&distro={distro}"
        kept.append({"type": "library", "bom-ref": purl, "name": p["name"], "version": p["version"], "purl": purl})
    doc["components"] = kept
    doc["dependencies"] = deps
    sbom.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    venv, dest = Path(argv[1]), Path(argv[2])
    dest.mkdir(parents=True, exist_ok=True)
    c = Collector(dest)
    for top in ("bin", "sbin", "lib", "lib64"):  # usr-merged roots keep their top-level links
        if (Path("/") / top).is_symlink():
            c.add(Path("/") / top)
    c.add(sys.executable)
    c.add(os.path.realpath(sys.executable))
    for key in ("stdlib", "platstdlib"):
        c.add_tree(Path(sysconfig.get_path(key)), skip=STDLIB_SKIP, skip_dynload=DYNLOAD_SKIP)
    c.add_tree(venv, skip=set())
    for extra in EXTRA_PATHS:
        c.add(extra)
    add_libraries(c)
    finish_sbom(dest / venv.relative_to("/") / "sbom.cdx.json", venv=venv, packages=dpkg_records(c))
    (dest / "etc").mkdir(exist_ok=True)
    (dest / "etc/passwd").write_text(USERS_FILE)
    (dest / "etc/group").write_text(GROUP)
    tmp = dest / "tmp"
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o1777)
    home = dest / "home/nonroot"
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, UID, UID)
    total = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"image root: {len(c.copied)} paths, {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
