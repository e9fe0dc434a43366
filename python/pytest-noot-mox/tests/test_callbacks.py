"""``runs(callable)``: the controller calls back into the test process."""


def test_runs_calls_python_for_each_call(inner, pytester):
    pytester.makepyfile(
        test_inner=r'''
import os
import subprocess

from pytest_noot_mox import Response

seen = []


def build(call):
    seen.append(call)
    # A handler may run doubled commands itself.
    stamp = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    return (f"built {' '.join(call.args)} at {stamp} from {call.stdin}\n", "", 0)


def test_runs(mox, tmp_path):
    mox.stub("date").returns(stdout="noon\n")
    mox.mock("make").runs(build).times(2)
    mox.stub("curl").runs(lambda call: Response(stdout=b"\xff\x00", stderr="fetched\n", exit_code=7))
    env = dict(os.environ, BUILD_MODE="release")
    made = subprocess.run(["make", "all"], input="source", capture_output=True, text=True, cwd=tmp_path, env=env)
    assert (made.stdout, made.returncode) == ("built all at noon from source\n", 0)
    subprocess.run(["make", "install"], capture_output=True)
    fetched = subprocess.run(["curl", "x"], capture_output=True)
    assert (fetched.stdout, fetched.stderr, fetched.returncode) == (b"\xff\x00", b"fetched\n", 7)

    first = seen[0]
    assert (first.command, first.args, first.stdin) == ("make", ["all"], "source")
    assert first.cwd == str(tmp_path)
    assert first.env["BUILD_MODE"] == "release"


def test_a_raising_callable_fails_the_call_and_the_test(mox):
    def broken(call):
        raise ValueError("no rule to make " + call.args[0])

    mox.stub("make").runs(broken)
    made = subprocess.run(["make", "docs"], capture_output=True, text=True)
    assert made.returncode == 1
    assert "no rule to make docs" in made.stderr
'''
    )
    result = inner()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_a_raising_callable_fails_the_call_and_the_test*", "Handler failed*"]
    )
    result.stdout.fnmatch_lines(["*ValueError: no rule to make docs*"])
