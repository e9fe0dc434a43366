"""The exceptions pytest-noot-mox raises, one per kind of trouble."""


class MoxError(Exception):
    """Something went wrong talking to noot's controller, or an API misuse."""


class NootNotFoundError(MoxError):
    """The noot binary could not be found (NOOT_BIN, then PATH)."""


class ControllerError(MoxError):
    """noot's controller refused a request or could not be reached."""


class VerificationError(AssertionError):
    """Verification found unmet expectations; the message is noot's report.

    An AssertionError, so pytest shows it as a plain test failure.
    """

    def __init__(self, report, document=None):
        super().__init__(report)
        self.report = report
        self.document = document
