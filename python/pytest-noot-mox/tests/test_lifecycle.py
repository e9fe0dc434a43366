"""Nothing a test's doubles started outlives it: controller, shim folder,
callback sockets and the environment are all gone or restored, after a
passing test and after a failing one; and a missing noot says how to get it."""

import os

INNER = r'''
import os
import subprocess

import pytest

PATH_BEFORE = os.environ["PATH"]
left = {}


def remember(mox, name):
    mox.stub("make").runs(lambda call: ("ok\n", "", 0))
    assert subprocess.run(["make"], capture_output=True, text=True).stdout == "ok\n"
    left[name] = (mox.controller_pid, mox.env["PATH"].split(":")[0], mox._callback_server._dir)


def test_passing(mox):
    remember(mox, "passing")


def test_failing(mox):
    remember(mox, "failing")
    raise RuntimeError("boom")


@pytest.mark.parametrize("name", ["passing", "failing"])
def test_nothing_is_left(name):
    pid, shim_dir, callback_dir = left[name]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not os.path.exists(shim_dir)
    assert not os.path.exists(callback_dir)
    assert "NOOT_MOX_SOCKET" not in os.environ
    assert os.environ["PATH"] == PATH_BEFORE
'''


def test_nothing_outlives_the_test(inner, pytester):
    pytester.makepyfile(test_inner=INNER)
    inner("-p", "no:randomly").assert_outcomes(passed=3, failed=1)


MISSING = r'''
def test_needs_noot(mox):
    pass
'''


def test_a_missing_noot_gives_the_clear_error(inner, pytester, monkeypatch, tmp_path):
    pytester.makepyfile(test_inner=MISSING)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    monkeypatch.delenv("NOOT_BIN")  # set by `inner`; read again at each run
    without = inner()
    without.assert_outcomes(errors=1)
    without.stdout.fnmatch_lines(
        [
            "*noot is not on PATH. pytest-noot-mox needs the noot binary: install it with "
            "`cargo install --path noot-host` or set NOOT_BIN*"
        ]
    )

    monkeypatch.setenv("NOOT_BIN", os.path.join(str(tmp_path), "no-such-noot"))
    wrong = inner()
    wrong.assert_outcomes(errors=1)
    wrong.stdout.fnmatch_lines(["*NOOT_BIN=*no-such-noot is not an executable file*set NOOT_BIN*"])
