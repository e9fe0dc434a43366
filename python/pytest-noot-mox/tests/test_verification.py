"""Teardown verification: noot's report fails the test, but never masks
a failure of the test itself, and an explicit verify() is not repeated."""

INNER = r'''
import subprocess

import pytest

from pytest_noot_mox import VerificationError


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True)


def test_unexpected_call(mox):
    mox.mock("git").with_args("push", "origin", "main")
    pulled = run("git", "pull")
    # The shim fails the call at once, with the report on stderr.
    assert pulled.returncode == 1
    assert "Unexpected command invocation" in pulled.stderr


def test_out_of_order(mox):
    mox.mock("svn").with_args("update").in_order()
    mox.mock("svn").with_args("commit").in_order()
    run("svn", "commit")
    run("svn", "update")


def test_body_failure_is_not_masked(mox):
    mox.mock("hg").with_args("push")
    assert False, "the body failed on its own"


def test_explicit_verify_is_not_repeated(mox):
    mox.mock("bzr").with_args("push")
    with pytest.raises(VerificationError) as failure:
        mox.verify()
    assert "Unfulfilled expectation" in failure.value.report


def test_skip_is_not_turned_into_a_failure(mox):
    mox.mock("fossil").with_args("push")
    pytest.skip("nothing to do")
'''


def test_a_failing_verify_fails_the_test_with_noots_report(inner, pytester):
    pytester.makepyfile(test_inner=INNER)
    result = inner("-rA")
    result.assert_outcomes(passed=3, failed=1, skipped=1, errors=2)
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unexpected_call*",
            "*Unexpected command invocation",
            "Expected:",
            "  git('push', 'origin', 'main')",
            "Actual:",
            "  git('pull')",
            "Reason:",
            "  arg[0] 'pull' != 'push'",
        ]
    )
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_out_of_order*", "*Ordered expectations not satisfied*"])
    assert "the body failed on its own" in output
    # Neither the failed body's nor the skipped test's doubles are reported,
    # and an explicit verify() is not repeated at teardown.
    for command in ("hg(", "fossil(", "bzr("):
        assert command not in output
    assert "teardown of test_body_failure_is_not_masked" not in output
    assert "teardown of test_explicit_verify_is_not_repeated" not in output
