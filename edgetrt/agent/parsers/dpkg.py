"""Parse Debian package lists and pick the NVIDIA stack's versions out of them.

Four inputs give the same ``{package: version}`` dict:
- ``dpkg -l`` (``ii  libnvinfer8  8.2.1-1+cuda10.2  arm64  TensorRT runtime libraries``),
- ``dpkg-query -W -f '${Package}\\t${Version}\\n'``,
- ``apt list --installed`` (``nvidia-l4t-core/stable,now 36.3.0-20240719161631 arm64 [installed]``),
- ``/var/lib/dpkg/status``, the file dpkg itself reads (``parse_dpkg_status``).

NVIDIA's versions look like ``8.2.1-1+cuda10.2`` (TensorRT 8.2.1, Debian revision 1, built for
CUDA 10.2); the meta package ``tensorrt`` carries the 4-part version (``8.2.1.9-1+cuda10.2``).
"""

import re

_DPKG_L = re.compile(r"^(?P<state>[a-zA-Z][a-zA-Z ]?[a-zA-Z]?)\s+(?P<name>[^\s/]+)\s+(?P<version>\d\S*)(?:\s|$)")
_APT = re.compile(r"^(?P<name>[^\s/]+)/\S+\s+(?P<version>\S+)(?:\s+\S+)?\s+\[installed")
_QUERY = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.:-]*)\t(?P<version>\S+)\s*$")
_CUDA_SUFFIX = re.compile(r"\+cuda(?P<cuda>\d+\.\d+)")

# Highest priority first. The meta package carries the 4-part version where the others carry 3.
TENSORRT_PACKAGES = (
    "tensorrt", "tensorrt-libs", "libnvinfer10", "libnvinfer8", "libnvinfer7", "libnvinfer6", "libnvinfer5",
    "libnvinfer-bin", "libnvinfer-dev", "python3-libnvinfer",
)
CUDNN_PACKAGES = ("libcudnn9-cuda-12", "libcudnn9", "libcudnn8", "libcudnn7")
L4T_PACKAGE = "nvidia-l4t-core"
_CUDA_RUNTIME = re.compile(r"^cuda-cudart-(?P<major>\d+)-(?P<minor>\d+)$")
_CUDA_TOOLKIT = re.compile(r"^cuda-toolkit-(?P<major>\d+)-(?P<minor>\d+)$")


def _strip_arch(name):
    return name.split(":", 1)[0]


def parse_package_list(text):
    """Parse ``dpkg -l``, ``dpkg-query -W`` or ``apt list --installed`` output into {package: version}.

    Only installed packages count: in ``dpkg -l`` the state must be ``ii`` or ``hi`` (held);
    a line without a version (cut off) is skipped.
    """
    packages = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith(("Listing...", "WARNING:", "Desired=", "|", "+++")):
            continue
        match = _APT.match(line)
        if match:
            packages[_strip_arch(match.group("name"))] = match.group("version")
            continue
        match = _QUERY.match(line)
        if match:
            packages[_strip_arch(match.group("name"))] = match.group("version")
            continue
        match = _DPKG_L.match(line)
        if match and match.group("state") in ("ii", "hi"):
            packages[_strip_arch(match.group("name"))] = match.group("version")
    return packages


def parse_dpkg_status(text):
    """Parse /var/lib/dpkg/status into {package: version} for packages whose status is installed."""
    packages = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue  # a continuation line of a multi-line field
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        name, version, status = fields.get("Package"), fields.get("Version"), fields.get("Status", "")
        if name and version and status.split()[-1:] == ["installed"]:
            packages[_strip_arch(name)] = version
    return packages


def split_version(version):
    """'1:8.2.1.9-1+cuda10.2' -> {'upstream': '8.2.1.9', 'cuda': '10.2'}; cuda is None when absent."""
    upstream = version.split(":", 1)[-1]
    cuda = _CUDA_SUFFIX.search(upstream)
    if "-" in upstream:
        upstream = upstream.rsplit("-", 1)[0]
    return {"upstream": upstream, "cuda": cuda.group("cuda") if cuda else None}


def tensorrt_version(packages):
    """TensorRT from a package dict: {'version', 'cuda', 'package', 'package_version'}, or None.

    Where several TensorRT packages are installed the one with the most version parts wins (the meta
    package's 8.2.1.9 over libnvinfer8's 8.2.1), then the order of TENSORRT_PACKAGES.
    """
    best = None
    for rank, name in enumerate(TENSORRT_PACKAGES):
        if name not in packages:
            continue
        parts = split_version(packages[name])
        if not re.match(r"^\d+\.\d+", parts["upstream"]):
            continue
        key = (len(parts["upstream"].split(".")), -rank)
        if best is None or key > best[0]:
            best = (key, {"version": parts["upstream"], "cuda": parts["cuda"], "package": name,
                          "package_version": packages[name]})
    return best[1] if best else None


def cuda_version(packages):
    """CUDA from the runtime package (cuda-cudart-X-Y), else the toolkit meta package; or None."""
    for pattern in (_CUDA_RUNTIME, _CUDA_TOOLKIT):
        found = sorted((n for n in packages if pattern.match(n)), key=_major_minor, reverse=True)
        if found:
            name = found[0]
            return {"version": split_version(packages[name])["upstream"], "package": name,
                    "package_version": packages[name]}
    return None


def _major_minor(name):
    numbers = re.findall(r"\d+", name)
    return tuple(int(n) for n in numbers[-2:])


def cudnn_version(packages):
    """cuDNN from libcudnn9-cuda-12 / libcudnn8 / libcudnn7: {'version', 'cuda', 'package', ...} or None."""
    for name in CUDNN_PACKAGES:
        if name in packages:
            parts = split_version(packages[name])
            return {"version": parts["upstream"], "cuda": parts["cuda"], "package": name,
                    "package_version": packages[name]}
    return None


def l4t_version(packages):
    """L4T release from nvidia-l4t-core ('32.7.4-20230608212426' -> '32.7.4'), or None."""
    version = packages.get(L4T_PACKAGE)
    if not version:
        return None
    match = re.match(r"^(\d+\.\d+(?:\.\d+)?)", version)
    return match.group(1) if match else None
