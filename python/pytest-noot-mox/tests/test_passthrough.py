"""A passthrough spy runs the real command and journals what it did."""


def test_a_passthrough_spy_runs_the_real_printf(inner, pytester):
    pytester.makepyfile(
        test_inner=r'''
import shutil
import subprocess


def test_printf(mox):
    printf = mox.spy("printf").passthrough().times(1)
    # printf is a shell builtin, but here subprocess runs the program.
    assert shutil.which("printf").startswith(mox.env["PATH"].split(":")[0])
    printed = subprocess.run(["printf", "%s-%s\n", "a", "b"], capture_output=True, text=True)
    assert (printed.stdout, printed.returncode) == ("a-b\n", 0)
    printf.assert_called_with("%s-%s\n", "a", "b")
    [call] = printf.invocations
    assert (call.stdout, call.exit_code) == ("a-b\n", 0)
'''
    )
    inner().assert_outcomes(passed=1)
