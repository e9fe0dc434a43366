"""Under pytest-xdist each worker runs its own controllers, and each test
records to and replays from a fixture file of its own."""

import json
import os

INNER = r'''
import json
import os
import subprocess

import pytest

if os.environ["MOX_MODE"] == "record":
    doubles = pytest.mark.mox_record("fakecmd")
else:
    doubles = pytest.mark.mox_replay("fakecmd")


@doubles
@pytest.mark.parametrize("number", range(8))
def test_many(mox, number):
    mox.stub("date").returns(stdout=f"day {number}\n")
    assert subprocess.run(["date"], capture_output=True, text=True).stdout == f"day {number}\n"
    ran = subprocess.run(["fakecmd", str(number)], capture_output=True, text=True)
    assert ran.returncode == 0
    path = os.path.join(os.environ["MOX_OUTPUT"], f"{number}.json")
    with open(path, "w") as output:
        json.dump([ran.stdout, os.environ.get("PYTEST_XDIST_WORKER"), mox.controller_pid], output)
'''


def test_four_workers_record_and_replay_their_own_fixtures(
    require_xdist, inner, pytester, fake_command, monkeypatch, tmp_path
):
    script = fake_command("fakecmd", 'echo "real $1 $$"\n')
    pytester.makepyfile(test_parallel=INNER)

    results = {}
    for mode in ("record", "replay"):
        output = tmp_path / mode
        output.mkdir()
        monkeypatch.setenv("MOX_MODE", mode)
        monkeypatch.setenv("MOX_OUTPUT", str(output))
        inner("-n", "4").assert_outcomes(passed=8)
        results[mode] = {
            int(path.stem): json.loads(path.read_text()) for path in output.iterdir()
        }
        if mode == "record":
            script.unlink()  # replay must not need it

    fixtures = sorted((pytester.path / "tests" / "fixtures" / "mox").iterdir())
    assert [path.name for path in fixtures] == [f"test_parallel__test_many[{n}].json" for n in range(8)]
    for number in range(8):
        recorded_stdout, _, _ = results["record"][number]
        assert recorded_stdout.startswith(f"real {number} ")
        assert results["replay"][number][0] == recorded_stdout
    workers = {worker for _, worker, _ in results["record"].values()}
    assert len(workers) > 1 and None not in workers
    pids = [pid for _, _, pid in results["record"].values()]
    assert len(set(pids)) == 8, "one controller per test"
    assert all(not os.path.exists(f"/proc/{pid}") for pid in pids)
