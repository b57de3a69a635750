"""edgetrt.lazy: the conversion tools' versions, read without importing the tools."""

from importlib import metadata

from edgetrt.lazy import TOOL_DISTRIBUTIONS, installed_versions, tool_versions


def test_versions_read_from_directory_names_match_importlib_metadata():
    """Every distribution installed here, not only the tools: the directory names say what METADATA says."""
    names = sorted({dist.metadata["Name"] for dist in metadata.distributions()})
    assert len(names) > 10
    expected = {name: metadata.version(name) for name in names}
    assert installed_versions(names) == expected


def test_tool_versions_name_only_installed_tools():
    expected = {}
    for dist in TOOL_DISTRIBUTIONS:
        try:
            expected[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    assert tool_versions() == expected


def test_a_distribution_that_is_not_installed_is_absent():
    assert installed_versions(["edgetrt-no-such-distribution"]) == {}
