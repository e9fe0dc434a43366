"""``mox_record`` / ``mox_replay``: record a real command into the test's
fixture, scrubbed, then replay it with the command gone from PATH."""

import json

from pytest_noot_mox.fixture_paths import fixture_file_name

TOKEN = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9"

# Stands in for gh: a JSON body on stdout, a token on stderr.
FAKE_GH = f"""echo "{{\\"number\\": $3, \\"title\\": \\"Fix $3\\"}}"
echo "token: {TOKEN}" >&2
exit 0
"""

INNER = r'''
import json
import os
import subprocess

import pytest

if os.environ["MOX_MODE"] == "record":
    doubles = pytest.mark.mox_record("fakegh")
else:
    doubles = pytest.mark.mox_replay("fakegh", strict=os.environ["MOX_MODE"] == "strict")


@doubles
@pytest.mark.parametrize("number", ["42", "7"])
def test_view(number):
    number = os.environ.get("MOX_NUMBER", number)
    viewed = subprocess.run(["fakegh", "pr", "view", number], capture_output=True, text=True)
    with open(os.environ["MOX_OUTPUT"], "a") as output:
        output.write(json.dumps([number, viewed.stdout, viewed.stderr, viewed.returncode]) + "\n")
'''


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_record_then_replay(inner, pytester, fake_command, monkeypatch, tmp_path):
    script = fake_command("fakegh", FAKE_GH)
    pytester.makepyfile(test_release=INNER)

    monkeypatch.setenv("MOX_MODE", "record")
    monkeypatch.setenv("MOX_OUTPUT", str(tmp_path / "recorded.jsonl"))
    inner().assert_outcomes(passed=2)
    recorded = read_lines(tmp_path / "recorded.jsonl")
    assert recorded[0] == ["42", '{"number": 42, "title": "Fix 42"}\n', f"token: {TOKEN}\n", 0]

    fixture_dir = pytester.path / "tests" / "fixtures" / "mox"
    fixture = fixture_dir / "test_release__test_view[42].json"
    assert sorted(path.name for path in fixture_dir.iterdir()) == [
        "test_release__test_view[42].json",
        "test_release__test_view[7].json",
    ]
    text = fixture.read_text()
    assert TOKEN not in text
    document = json.loads(text)
    [recording] = document["recordings"]
    assert recording["args"] == ["pr", "view", "42"]
    assert recording["stdout"] == '{"number": 42, "title": "Fix 42"}\n'
    assert document["metadata"]["recorded_by"] == "test_release.py::test_view[42]"

    # The real command is gone: only the fixtures can answer now.
    script.unlink()
    for mode in ("strict", "fuzzy"):
        output = tmp_path / f"{mode}.jsonl"
        monkeypatch.setenv("MOX_MODE", mode)
        monkeypatch.setenv("MOX_OUTPUT", str(output))
        inner().assert_outcomes(passed=2)
        replayed = read_lines(output)
        assert [line[1] for line in replayed] == [line[1] for line in recorded]  # stdout
        assert [line[3] for line in replayed] == [line[3] for line in recorded]  # exit code
        for line in replayed:
            assert TOKEN not in line[2] and "REDACTED" in line[2]


def test_a_strict_miss_and_a_missing_fixture_are_reported(inner, pytester, fake_command, monkeypatch, tmp_path):
    fake_command("fakegh", FAKE_GH)
    pytester.makepyfile(test_release=INNER)
    monkeypatch.setenv("MOX_OUTPUT", str(tmp_path / "out.jsonl"))
    monkeypatch.setenv("MOX_MODE", "record")
    inner("-k", "42").assert_outcomes(passed=1, deselected=1)

    monkeypatch.setenv("MOX_MODE", "strict")
    monkeypatch.setenv("MOX_NUMBER", "43")
    missed = inner("-k", "42")
    missed.assert_outcomes(passed=1, deselected=1, errors=1)
    missed.stdout.fnmatch_lines(["*fakegh('pr', 'view', '43')*", "*never replayed*"])

    monkeypatch.delenv("MOX_NUMBER")
    unrecorded = inner("-k", "7")
    unrecorded.assert_outcomes(deselected=1, errors=1)
    unrecorded.stdout.fnmatch_lines(
        ["*no fixture to replay at *test_release__test_view[[]7[]].json: record it first*"]
    )


def test_fixture_names_are_readable_and_collision_safe():
    assert fixture_file_name("tests/test_release.py::TestTag::test_push[v1]") == (
        "tests.test_release__TestTag.test_push[v1].json"
    )
    assert fixture_file_name("test_a.py::test_b") == "test_a__test_b.json"
    # Names that would read back ambiguously, or carry unsafe characters,
    # get a hash of the whole node id.
    ambiguous = ["a__b.py::c", "a.py::b__c", "x.py::t[a/b]", "x.py::t[a_b]", "a/b.py::c", "a.py::b::c"]
    names = [fixture_file_name(nodeid) for nodeid in ambiguous]
    assert len(set(names)) == len(names)
    assert all("/" not in name for name in names)
    assert fixture_file_name("x.py::t[a/b]").startswith("x__t[a_b]-")
    long_name = fixture_file_name("t.py::test[" + "x" * 400 + "]")
    assert len(long_name) < 200
