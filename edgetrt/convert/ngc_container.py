"""TF-TRT in an NGC TensorFlow container: which tag, the `docker run` command, and running it.

The table of releases lives in edgetrt/data/ngc_tensorflow.json (each row with its source and the
fields its source does not confirm). Everything here but :func:`run_in_container` is pure, so the
dry run works without TensorFlow and without Docker.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from edgetrt.errors import ConversionError, EdgetrtError, UsageError

IMAGE = "nvcr.io/nvidia/tensorflow"
CONTAINER_WORKDIR = "/work"
CONTAINER_SRC = "/opt/edgetrt"
EDGETRT_MIN_PYTHON = (3, 8)  # the host package; checked with vermin -t=3.8- in the tests

X86_ENGINE_WARNING = (
    "an x86 container's TensorRT engines never load on a Jetson (different GPU and TensorRT build): "
    "with --prebuild the engines inside the TF-TRT SavedModel are useless on the device; without it "
    "the device builds each engine at its first inference (20-30x slower first run in the seed's "
    "measurements)")
REBUILD_ON_DEVICE = ("build on the device instead (edgetrt's default): "
                     "`edgetrt deploy MODEL --device NAME --backend tensorrt`")


@dataclass(frozen=True)
class ContainerRelease:
    """One row of the table."""

    release: str
    tags: dict
    tensorflow: dict
    tensorrt: str | None
    cuda: str | None
    cudnn: str | None
    python: str | None
    evidence: str
    source: str
    unverified_fields: tuple[str, ...] = ()
    note: str = ""

    @classmethod
    def from_dict(cls, row: dict) -> "ContainerRelease":
        return cls(release=row["release"], tags=dict(row["tags"]), tensorflow=dict(row.get("tensorflow") or {}),
                   tensorrt=row.get("tensorrt"), cuda=row.get("cuda"), cudnn=row.get("cudnn"),
                   python=row.get("python"), evidence=row["evidence"], source=row["source"],
                   unverified_fields=tuple(row.get("unverified_fields") or ()), note=row.get("note", ""))

    def tag_for(self, tf_major: int | None) -> str | None:
        """The tag of the wanted TensorFlow major (None: TF2 when the release has it, else TF1)."""
        if tf_major is None:
            return self.tags.get("tf2") or self.tags.get("tf1")
        return self.tags.get(f"tf{tf_major}")

    @property
    def tensorrt_verified(self) -> bool:
        return self.tensorrt is not None and "tensorrt" not in self.unverified_fields


@dataclass(frozen=True)
class ContainerChoice:
    tag: str | None
    tensorrt: str | None
    exact: bool
    note: str
    release: ContainerRelease | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def image(self) -> str | None:
        return f"{IMAGE}:{self.tag}" if self.tag else None

    def to_dict(self) -> dict:
        row = self.release
        return {"image": self.image, "tag": self.tag, "tensorrt": self.tensorrt, "exact": self.exact,
                "note": self.note, "warnings": list(self.warnings),
                "evidence": row.evidence if row else None, "source": row.source if row else None}


def load_releases() -> list[ContainerRelease]:
    from edgetrt.config.paths import data_text

    text = data_text("ngc_tensorflow.json")
    return [ContainerRelease.from_dict(row) for row in json.loads(text)["releases"]]


def parse_version(text: str) -> tuple[int, ...]:
    """'8.2.1' → (8, 2, 1); '10.3.0.26' → (10, 3, 0, 26). Raises UsageError on anything else."""
    parts = str(text).strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise UsageError(f"TensorRT version {text!r} is not of the form MAJOR.MINOR[.PATCH[.BUILD]]")
    return tuple(int(p) for p in parts)


def _python_warning(release: ContainerRelease) -> str | None:
    if not release.python:
        return (f"the Python version of {release.release} is not in the table; edgetrt needs Python "
                f"{'.'.join(map(str, EDGETRT_MIN_PYTHON))}+ inside the container")
    if parse_version(release.python) < EDGETRT_MIN_PYTHON:
        return (f"{release.release} ships Python {release.python}, but edgetrt needs Python "
                f"{'.'.join(map(str, EDGETRT_MIN_PYTHON))}+: `python -m edgetrt` will not start there; run "
                "TF-TRT by hand in that container (see edgetrt/convert/tftrt.py) or pick a newer tag")
    return None


def pick_container(device_tensorrt: str | None, tf_major: int | None = None,
                   releases: list[ContainerRelease] | None = None) -> ContainerChoice:
    """The tag whose TensorRT has the device's major.minor, closest patch first.

    Rows whose TensorRT the table does not confirm still count, but the choice says so. There is
    always the x86-engine warning: matching versions only keeps TF-TRT's graph and calibration
    portable, never a built engine.
    """
    releases = load_releases() if releases is None else releases
    flavour = f"TF{tf_major} " if tf_major else ""
    if not device_tensorrt:
        return ContainerChoice(None, None, False,
                               "the device's TensorRT version is unknown (no profile value): cannot match a "
                               f"container; {REBUILD_ON_DEVICE}", warnings=(X86_ENGINE_WARNING,))
    wanted = parse_version(device_tensorrt)
    candidates = []
    for row in releases:
        tag = row.tag_for(tf_major)
        if not tag or not row.tensorrt:
            continue
        have = parse_version(row.tensorrt)
        if have[:2] != wanted[:2]:
            continue
        # Compare only the components the device states; a missing build number is a wildcard.
        distance = tuple(abs(w - h) for w, h in zip(wanted[2:], have[2:]))
        candidates.append((distance, not row.tensorrt_verified, [-int(p) for p in row.release.split(".")], row, tag))
    if not candidates:
        majors = sorted({".".join(r.tensorrt.split(".")[:2]) for r in releases if r.tensorrt and r.tag_for(tf_major)},
                        key=parse_version)
        return ContainerChoice(
            None, None, False,
            f"no {flavour}NGC TensorFlow container in the table has TensorRT "
            f"{wanted[0]}.{wanted[1]} (the table has {', '.join(majors)}); TensorRT {device_tensorrt} may be a "
            f"Jetson-only build that no x86 container ships; {REBUILD_ON_DEVICE}",
            warnings=(X86_ENGINE_WARNING,))
    candidates.sort(key=lambda c: c[:3])
    _, _, _, row, tag = candidates[0]
    exact = parse_version(row.tensorrt)[:len(wanted)] == wanted
    if exact:
        note = f"{tag} has TensorRT {row.tensorrt}, the device's {device_tensorrt}"
    else:
        note = (f"no container in the table has TensorRT {device_tensorrt} (Jetson builds are not shipped in x86 "
                f"containers); closest: {tag} with TensorRT {row.tensorrt} (same {wanted[0]}.{wanted[1]})")
    warnings = [X86_ENGINE_WARNING]
    if not row.tensorrt_verified:
        warnings.append(f"the table's TensorRT version for {row.release} is not verified ({row.evidence}): "
                        f"check NVIDIA's release notes before relying on it")
    python_warning = _python_warning(row)
    if python_warning:
        warnings.append(python_warning)
    return ContainerChoice(tag, row.tensorrt, exact, note, row, tuple(warnings))


def container_path(host_path: Path, workdir: Path) -> str:
    """Where a host file under WORKDIR appears inside the container (/work/...)."""
    host_path, workdir = Path(host_path).resolve(), Path(workdir).resolve()
    try:
        rel = host_path.relative_to(workdir)
    except ValueError:
        raise UsageError(f"{host_path} is outside the directory mounted into the container ({workdir})",
                         hint="run edgetrt from a directory that contains the model and --out, or move them there") from None
    return str(PurePosixPath(CONTAINER_WORKDIR, *rel.parts))


CONTAINER_DEPS = "/work/.edgetrt-cache/pydeps"
_INNER_SCRIPT = (
    f'python -c "import typer, rich, yaml" 2>/dev/null || python -m pip install --quiet '
    f'--disable-pip-version-check --target {CONTAINER_DEPS} typer rich pyyaml >&2 && '
    'exec python -m edgetrt "$@"'
)


def docker_command(tag: str, workdir: Path, edgetrt_src: Path, uid: int, gid: int,
                   inner_args: list[str]) -> list[str]:
    """`docker run ... nvcr.io/nvidia/tensorflow:TAG python -m edgetrt ARGS`, one argv item per word."""
    return [
        "docker", "run", "--rm", "--gpus", "all",
        "-v", f"{Path(workdir).resolve()}:{CONTAINER_WORKDIR}", "-w", CONTAINER_WORKDIR,
        "-v", f"{Path(edgetrt_src).resolve()}:{CONTAINER_SRC}:ro",
        "-e", f"PYTHONPATH={CONTAINER_SRC}:{CONTAINER_DEPS}",
        # -u leaves HOME pointing at a directory the user cannot write; keep caches in the mount.
        "-e", f"HOME={CONTAINER_WORKDIR}", "-e", f"EDGETRT_CACHE={CONTAINER_WORKDIR}/.edgetrt-cache",
        "-u", f"{uid}:{gid}",
        f"{IMAGE}:{tag}",
        # The container has TensorFlow and numpy, not edgetrt's CLI libraries: fetch those once into
        # the mounted cache. The user's arguments reach edgetrt as "$@", never through the shell.
        "sh", "-c", _INNER_SCRIPT, "edgetrt", *[str(a) for a in inner_args],
    ]


def command_line(command: list[str]) -> str:
    return shlex.join(command)


@dataclass(frozen=True)
class ContainerRun:
    command: list[str]
    returncode: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def docker_engine_problem(docker: str | None = None, timeout: float = 30.0) -> str | None:
    """None when a Docker engine answers; otherwise why not, in a few words."""
    docker = docker or shutil.which("docker")
    if not docker:
        return "no `docker` program on PATH"
    try:
        proc = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` failed: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`docker info` failed: {last}"
    return None


def run_in_container(command: list[str], image: str) -> ContainerRun:
    """Run the docker command; the container's output goes to stderr (stdout belongs to --json)."""
    problem = docker_engine_problem()
    if problem:
        raise EdgetrtError(f"no Docker engine is running here: cannot start {image} ({problem})",
                           hint="add --dry-run to print the docker command and run it on a machine with "
                           "Docker, the NVIDIA Container Toolkit and a GPU")
    proc = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr)
    run = ContainerRun(list(command), proc.returncode)
    if not run.ok:
        raise ConversionError(f"the container {image} exited with status {proc.returncode}",
                              hint="its output is above; rerun the command from --dry-run by hand to debug")
    return run


def inner_convert_args(model: str, workdir: Path, out: Path, settings, *, weights: str = "auto",
                       options: dict | None = None, calibration_images: Path | None = None,
                       force: bool = False) -> list[str]:
    """`edgetrt convert ...` as it must run inside the container (host paths → /work/...).

    options: the other convert flags that carry a value (--alpha, --input-size, --preprocessing)
    or repeat (--input, --output), by flag name.
    """
    model_path = Path(model).expanduser()
    inner_model = container_path(model_path, workdir) if model_path.exists() else model
    weights_path = Path(weights).expanduser()
    inner_weights = container_path(weights_path, workdir) if weights_path.is_file() else weights
    args = ["convert", inner_model, "--to", "tftrt", "--precision", settings.precision,
            "--min-segment-size", str(settings.min_segment_size), "--weights", inner_weights,
            "--out", container_path(out, workdir)]
    if settings.workspace_bytes is not None:
        args += ["--workspace", str(settings.workspace_bytes)]
    if settings.prebuild:
        args.append("--prebuild")
    if calibration_images:
        args += ["--calib-images", container_path(calibration_images, workdir)]
    for flag, value in (options or {}).items():
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if item is not None:
                args += [flag, str(item)]
    if force:
        args.append("--force")
    return args


def plan_container_convert(choice: ContainerChoice, inner_args: list[str], workdir: Path, edgetrt_src: Path,
                           uid: int, gid: int) -> dict:
    """The dry-run document: which image and why, and the exact command."""
    if not choice.tag:
        raise UsageError(f"no NGC TensorFlow container to run TF-TRT in: {choice.note}",
                         hint="or name a tag yourself: --container YY.MM-tf2-py3")
    command = docker_command(choice.tag, workdir, edgetrt_src, uid, gid, inner_args)
    return {"container": choice.to_dict(), "command": command, "command_line": command_line(command)}


def named_container(tag: str, releases: list[ContainerRelease] | None = None) -> ContainerChoice:
    """--container TAG: what the table knows about that tag (it may know nothing)."""
    releases = load_releases() if releases is None else releases
    for row in releases:
        if tag in row.tags.values():
            warnings = [X86_ENGINE_WARNING]
            python_warning = _python_warning(row)
            if python_warning:
                warnings.append(python_warning)
            return ContainerChoice(tag, row.tensorrt, False, f"{tag} as asked (TensorRT {row.tensorrt} per the table)",
                                   row, tuple(warnings))
    return ContainerChoice(tag, None, False, f"{tag} as asked; the table has no row for it (TensorRT unknown)",
                           None, (X86_ENGINE_WARNING,))
