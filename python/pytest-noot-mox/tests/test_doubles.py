"""Stubs, mocks and spies answering real subprocess calls in a test."""

INNER = r'''
import os
import subprocess

from pytest_noot_mox import Any, Contains, IsA, Regex, StartsWith


def run(*argv, **options):
    return subprocess.run(list(argv), capture_output=True, text=True, **options)


def test_stub_mock_and_spy_answer_subprocess_calls(mox):
    assert os.environ["NOOT_MOX_SOCKET"] == mox.env["NOOT_MOX_SOCKET"]
    mox.stub("date").returns(stdout="2026-12-02\n")
    mox.mock("git").with_args("status", "--porcelain").returns(stdout="").in_order()
    mox.mock("git").with_matching_args("tag", "-a", Regex(r"^v\d"), "-m", Any()).in_order()
    mox.mock("git").with_args("push", "origin", StartsWith("v")).times(2).in_order()
    gh = mox.spy("gh").with_stdin(Contains("notes")).returns(stdout="https://example.invalid/v1\n")
    mox.mock("kubectl").with_args("scale", IsA(int)).with_env({"KUBECONFIG": "/k"}).returns(
        stdout="scaled\n", stderr="warn\n", exit_code=3
    )
    mox.mock("ls").at_least(1)
    mox.mock("rm").never()

    assert run("date").stdout == "2026-12-02\n"
    assert run("git", "status", "--porcelain").returncode == 0
    assert run("git", "tag", "-a", "v1.2.0", "-m", "release").returncode == 0
    assert run("git", "push", "origin", "v1.2.0").returncode == 0
    assert run("git", "push", "origin", "v1.2.0").returncode == 0
    published = run("gh", "release", "create", "v1.2.0", input="release notes\n")
    assert published.stdout == "https://example.invalid/v1\n"
    scaled = run("kubectl", "scale", "3")
    assert (scaled.stdout, scaled.stderr, scaled.returncode) == ("scaled\n", "warn\n", 3)
    run("ls")
    run("ls", "-l")
    # A shell reaches the doubles too.
    assert run("sh", "-c", "date").stdout == "2026-12-02\n"

    gh.assert_called()
    gh.assert_called_times(1)
    gh.assert_called_with("release", "create", "v1.2.0", stdin="release notes\n")
    assert gh.call_count == 1
    [call] = gh.invocations
    assert (call.command, call.args, call.stdout) == ("gh", ["release", "create", "v1.2.0"], "https://example.invalid/v1\n")


def test_a_builder_call_changes_the_double_in_place(mox):
    date = mox.stub("date").returns(stdout="one\n")
    assert run("date").stdout == "one\n"
    assert date.returns(stdout="two\n") is date
    assert run("date").stdout == "two\n"
    spy = mox.spy("make")
    spy.assert_not_called()
    run("make", "all")
    spy.assert_called_with("all")


def test_spy_queries_work_after_an_explicit_verify(mox):
    spy = mox.spy("make").returns(stdout="built\n")
    run("make", "a")
    run("make", "b")
    mox.verify()
    assert spy.call_count == 2
    spy.assert_called_with("b")
'''


def test_stubs_mocks_and_spies_answer_real_calls(inner, pytester):
    pytester.makepyfile(test_inner=INNER)
    result = inner("-v")
    result.assert_outcomes(passed=3)


def test_controller_mistakes_and_unsupported_comparators_fail_at_the_call(inner, pytester):
    pytester.makepyfile(
        test_inner=r'''
import pytest
from pytest_noot_mox import IsA, MoxError, Predicate, Regex, VerificationError


def test_mistakes(mox):
    with pytest.raises(MoxError, match="passthrough"):
        mox.mock("git").passthrough()
    with pytest.raises(MoxError, match="regex"):
        mox.stub("git").with_args(Regex("("))
    with pytest.raises(MoxError, match=r"\.runs\(callable\)"):
        Predicate(lambda value: True)
    with pytest.raises(MoxError, match=r"\.runs\(callable\)"):
        mox.stub("git").with_matching_args(lambda value: True)
    with pytest.raises(MoxError, match="int, float, bool and path"):
        IsA(dict)
    with pytest.raises(MoxError, match="missing.json"):
        mox.spy("gh").replay("missing.json")
    # The mock declared before passthrough() was refused is still there, uncalled.
    with pytest.raises(VerificationError, match="Unfulfilled expectation"):
        mox.verify()
'''
    )
    result = inner()
    result.assert_outcomes(passed=1)


def test_comparators_send_the_controllers_json():
    import pathlib

    from pytest_noot_mox import Any, Contains, IsA, Regex, StartsWith
    from pytest_noot_mox.comparators import to_wire

    assert [to_wire(value) for value in ("x", pathlib.Path("/p"), Any(), Regex("^v"), Contains("a"), StartsWith("-"))] == [
        "x",
        "/p",
        {"any": True},
        {"regex": "^v"},
        {"contains": "a"},
        {"starts_with": "-"},
    ]
    assert [IsA(kind).to_wire() for kind in (int, float, bool, pathlib.Path, "path")] == [
        {"is_a": "int"},
        {"is_a": "float"},
        {"is_a": "bool"},
        {"is_a": "path"},
        {"is_a": "path"},
    ]
