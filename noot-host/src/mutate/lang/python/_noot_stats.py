"""Written by noot: the pytest plugin of the stats run.

Records, for every test, the mutated functions it reaches and how long it
takes, plus the functions reached while collecting (at import time) and the
mutated modules imported from outside the mutated tree, and writes them as
JSON to the file named by NOOT_STATS_FILE.
"""

import json
import os
import sys
import time

import pytest

import _noot_runtime as rt


class NootStats:
    def __init__(self, out, invocation_dir):
        self.out = out
        self.invocation_dir = invocation_dir
        self.tests = {}
        self.order = []
        self.failed = []
        self.collection_hits = set()
        self.importers = {}
        self.imported = []

    def pytest_collection_finish(self, session):
        self.collection_hits |= rt.HITS
        rt.HITS.clear()
        # Who called each function while the project was imported, and
        # which modules of the mutated tree were imported, in import order:
        # what the inprocess runner's import check compares.
        self.importers = {k: sorted(v) for k, v in (rt.IMPORTERS or {}).items()}
        rt.IMPORTERS = None
        mutants = os.environ.get("NOOT_MUTANTS_DIR", "")
        self.imported = [
            name
            for name, module in list(sys.modules.items())
            if mutants
            and isinstance(getattr(module, "__file__", None), str)
            and module.__file__.startswith(mutants.rstrip(os.sep) + os.sep)
        ]
        for item in session.items:
            self.order.append(item.nodeid)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        rt.HITS.clear()
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        file_part, sep, rest = item.nodeid.partition("::")
        try:
            path = os.path.relpath(str(item.path), self.invocation_dir)
        except ValueError:
            path = file_part
        self.tests[item.nodeid] = {
            "arg": path + sep + rest,
            "file": path,
            "duration_s": elapsed,
            "hits": sorted(rt.HITS),
        }
        rt.HITS.clear()

    def pytest_runtest_logreport(self, report):
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid)

    def pytest_collectreport(self, report):
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid or "<collection>")

    def pytest_sessionfinish(self, session, exitstatus):
        escaped = rt.escaped_modules(
            os.environ.get("NOOT_PROJECT_DIR", ""), os.environ.get("NOOT_MUTANTS_DIR", "")
        )
        document = {
            "schema_version": 1,
            "exit_status": int(exitstatus),
            "order": self.order,
            "tests": self.tests,
            "failed": self.failed,
            "collection_hits": sorted(self.collection_hits | rt.HITS),
            "escaped_modules": escaped,
            "collection_importers": self.importers,
            "collection_modules": self.imported,
        }
        tmp = self.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(document, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.out)


def pytest_configure(config):
    out = os.environ.get("NOOT_STATS_FILE")
    if out:
        config.pluginmanager.register(NootStats(out, os.getcwd()), "noot-stats")
