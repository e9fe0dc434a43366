//! The pytest plugin (python/pytest-noot-mox) against the real noot binary.
