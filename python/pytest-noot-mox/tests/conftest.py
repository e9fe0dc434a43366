"""Helpers of the plugin's own suite.

Each test writes a test module and runs it in an inner pytest (a
subprocess, as users run pytest) that loads the plugin from this
checkout with ``-p pytest_noot_mox.plugin``: nothing needs installing.
``-p no:noot_mox`` keeps an installed copy's entry point out of the way.
"""

import importlib.util
import os
import pathlib
import shutil
import sys

import pytest

pytest_plugins = ["pytester"]

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
# The suite's own modules import the package too (fixture names, comparators).
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

PLUGIN_ARGS = ("-p", "no:noot_mox", "-p", "pytest_noot_mox.plugin", "-p", "no:cacheprovider")
INNER_TIMEOUT_SECONDS = 120


def in_ci():
    return bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def noot_bin():
    """The noot binary under test: $NOOT_BIN, else noot on PATH."""
    found = os.environ.get("NOOT_BIN") or shutil.which("noot")
    if not found:
        message = "no noot binary: set NOOT_BIN or put noot on PATH"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def require_xdist():
    """Skips without pytest-xdist, except in CI (CI set), where it must be there."""
    if importlib.util.find_spec("xdist") is None:
        message = "pytest-xdist is not installed (.ci/run installs it next to pytest)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def inner(pytester, monkeypatch, noot_bin):
    """Runs pytest on the pytester folder with the plugin loaded; returns the result."""
    monkeypatch.setenv("NOOT_BIN", noot_bin)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    )
    # The inner runs must not inherit a controller from anywhere.
    monkeypatch.delenv("NOOT_MOX_SOCKET", raising=False)

    def run(*args):
        return pytester.runpytest_subprocess(*PLUGIN_ARGS, *args, timeout=INNER_TIMEOUT_SECONDS)

    return run


@pytest.fixture
def fake_command(tmp_path, monkeypatch):
    """Writes an executable sh script called NAME into a folder put first
    on PATH (it stands in for a real command like gh); returns its path."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")

    def make(name, body):
        script = folder / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
        return script

    return make
