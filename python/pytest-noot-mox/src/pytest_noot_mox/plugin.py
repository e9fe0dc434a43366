"""The pytest plugin: the ``mox`` fixture and the record/replay markers.

The ``mox`` fixture starts a noot controller for one test, puts its
environment (``PATH`` with the shims first, ``NOOT_MOX_SOCKET``) into
``os.environ`` for the test, and at teardown verifies (failing the test
with noot's report) unless the test had already failed, skipped or
verified by hand; then it stops the controller and restores the
environment, whatever happened.

``@pytest.mark.mox_record("git", "gh")`` makes the named commands
passthrough spies recording into the test's fixture;
``@pytest.mark.mox_replay("git", "gh", strict=True)`` makes them answer
from it. Either marker brings in the ``mox`` fixture by itself.
"""

import os

import pytest

from .controller import find_noot
from .errors import MoxError, NootNotFoundError
from .fixture_paths import DEFAULT_FIXTURE_DIR, fixture_file_name
from .session import Mox

FIXTURE_DIR_INI = "mox_fixture_dir"
RECORD_MARKER = "mox_record"
REPLAY_MARKER = "mox_replay"

# Each phase's report of a test, so teardown can tell whether the test
# body passed.
_phase_reports = pytest.StashKey()


def pytest_addoption(parser):
    parser.addini(
        FIXTURE_DIR_INI,
        help="folder (relative to rootdir) of the fixtures that @pytest.mark.mox_record "
        f"writes and @pytest.mark.mox_replay reads [default: {DEFAULT_FIXTURE_DIR}]",
        default=DEFAULT_FIXTURE_DIR,
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{RECORD_MARKER}(*commands): run the named commands for real through noot's "
        "passthrough spies and record their calls, scrubbed, into this test's fixture",
    )
    config.addinivalue_line(
        "markers",
        f"{REPLAY_MARKER}(*commands, strict=True): answer the named commands from this "
        "test's fixture (strict: command, args, stdin and env must match; else best fit)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_phase_reports, {})[report.when] = report


def fixture_path(config, nodeid):
    """Where the markers keep the fixture of test ``nodeid``."""
    folder = config.getini(FIXTURE_DIR_INI) or DEFAULT_FIXTURE_DIR
    return os.path.join(str(config.rootpath), folder, fixture_file_name(nodeid))


def _marked_commands(marker):
    commands = list(marker.args)
    if not commands or not all(isinstance(command, str) for command in commands):
        raise MoxError(
            f"@pytest.mark.{marker.name} takes the names of the commands to "
            f"{'record' if marker.name == RECORD_MARKER else 'replay'}, "
            f'e.g. @pytest.mark.{marker.name}("git", "gh"); got {marker.args!r}'
        )
    return commands


def _apply_markers(request, mox):
    record = request.node.get_closest_marker(RECORD_MARKER)
    replay = request.node.get_closest_marker(REPLAY_MARKER)
    if record is None and replay is None:
        return
    if record is not None and replay is not None:
        raise MoxError(f"a test is marked {RECORD_MARKER} or {REPLAY_MARKER}, not both")
    path = fixture_path(request.config, request.node.nodeid)
    if record is not None:
        if record.kwargs:
            raise MoxError(f"@pytest.mark.{RECORD_MARKER} takes no options, got {record.kwargs!r}")
        for command in _marked_commands(record):
            mox.spy(command).passthrough().record(path)
        return
    unknown = set(replay.kwargs) - {"strict"}
    if unknown:
        raise MoxError(f"@pytest.mark.{REPLAY_MARKER} takes strict=True|False, got {sorted(unknown)}")
    if not os.path.isfile(path):
        raise MoxError(
            f"no fixture to replay at {path}: record it first by marking the test "
            f"@pytest.mark.{RECORD_MARKER}({', '.join(map(repr, replay.args))}) and running it"
        )
    strict = replay.kwargs.get("strict", True)
    for command in _marked_commands(replay):
        mox.spy(command).replay(path, strict=strict)


def _body_passed(item):
    call_report = item.stash.get(_phase_reports, {}).get("call")
    return call_report is not None and call_report.passed


def _fail(message):
    """Fails the test with ``message`` alone: a usage problem, no traceback.

    Called outside ``except`` blocks, so pytest does not print the
    message twice ("during handling of the above exception").
    """
    pytest.fail(message, pytrace=False)


def _noot_or_fail():
    try:
        return find_noot(), None
    except NootNotFoundError as error:
        return None, str(error)


def _apply_markers_or_problem(request, session):
    try:
        _apply_markers(request, session)
    except MoxError as error:
        return str(error)
    return None


def _verification_failure(request, session):
    """noot's report when the test's doubles fail verification, else None.

    A failed or skipped body is reported as it is: a verification failure
    on top would only mask it, and a recording from a test that failed
    must not replace a good fixture (verifying is what saves it).
    """
    if session.verified or not _body_passed(request.node):
        return None
    try:
        outcome = session.check()
    except MoxError as error:
        return f"noot's controller could not verify this test's doubles: {error}"
    return None if outcome.ok else outcome.report


@pytest.fixture
def mox(request):
    """Command doubles for this test, backed by noot's controller.

    ``mox.stub("git").with_args("status").returns(stdout="clean\\n")``;
    code under test that runs ``git`` (through subprocess, a shell, ...)
    reaches the double. Verified at teardown.
    """
    noot_bin, missing = _noot_or_fail()
    if missing is not None:
        _fail(missing)
    session = Mox(noot_bin=noot_bin, test_id=request.node.nodeid)
    environment = pytest.MonkeyPatch()
    try:
        for name, value in session.env.items():
            environment.setenv(name, value)
        marker_problem = _apply_markers_or_problem(request, session)
        if marker_problem is not None:
            _fail(marker_problem)
        yield session
        failure = _verification_failure(request, session)
        if failure is not None:
            _fail(failure)
    finally:
        # Whatever happened above: nothing of the controller outlives the test.
        try:
            session.close()
        finally:
            environment.undo()


@pytest.fixture(autouse=True)
def _noot_mox_markers(request):
    """Brings in ``mox`` for tests that only use the record/replay markers."""
    node = request.node
    if node.get_closest_marker(RECORD_MARKER) or node.get_closest_marker(REPLAY_MARKER):
        request.getfixturevalue("mox")
