"""Every exception labjournal defines, in one place: those it reports to a user (each names the
file and the place it is about; the CLI prints them without a traceback) and the few the stages
raise to each other (a lookup that fails on a page, a worker that died). Imports nothing."""

from __future__ import annotations


class LabjournalError(Exception):
    """Base class: the CLI prints these without a traceback and exits with `exit_code`."""

    exit_code = 2


class PlanError(LabjournalError):
    """journal.yml is broken or asks for something that does not exist. Nothing has run."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = list(dict.fromkeys(problems))  # one message per problem
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{path}: the plan is invalid, nothing was run:\n{listing}")


class DataUnavailableError(LabjournalError):
    """A dataset a notebook needs is neither on disk nor downloadable."""


class CorruptResultsError(LabjournalError):
    """A file of the results store is not valid JSON any more (edited or truncated by hand)."""


class StoreLockedError(LabjournalError):
    """Another labjournal process holds the results store."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class ResultsRemovedError(LabjournalError):
    """The results store's folder (or its `.staging`) was removed while `labjournal run` held it:
    what the runs wrote went with it."""

    exit_code = 1


class PortUnavailableError(LabjournalError):
    """`labjournal preview`: the port asked for is in use (or may not be used); nothing was built."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT), carrying the one line that says what it stopped; the CLI prints the line
    and exits with 130. A KeyboardInterrupt, so that whatever stops on Ctrl-C stops on it too."""


class RenderError(LabjournalError):
    """A journal page could not be rendered (Jinja syntax, a missing metric or figure)."""


class BuildError(LabjournalError):
    """pandoc, typst or Quarto failed to build the site or the PDF."""


class RunsFailedError(LabjournalError):
    """One or more notebooks raised; their runs are marked failed, the others completed."""

    exit_code = 1


class ClaimsNotSupportedError(LabjournalError):
    """`labjournal check`: a claim is contradicted (or, with --strict, not supported)."""

    exit_code = 1


class RecordError(ValueError):
    """A value that cannot be recorded (bad name, wrong type); the message says which."""


class NoParametersCell(ValueError):
    """The notebook has no cell tagged `parameters`, so papermill cannot inject any value."""


class PublishError(LabjournalError):
    """The site cannot be published (not built, stale, not a git repository, push refused)."""


class ResultLookupError(KeyError):
    """A template or notebook asked for a metric, grid point or figure that the results lack."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FailedRunsError(ResultLookupError):
    """The runs a value, figure or claim needs failed: the page shows a note instead."""

    def __init__(self, message: str, lab: str, where: str):
        super().__init__(message)
        self.lab = lab
        self.where = where  # the failed run's folder in the store, e.g. failed/lab01/logreg/<key>


class WorkerLost(Exception):
    """The process running a notebook died before reporting an outcome."""


class ExecutorError(LabjournalError):
    """The executor cannot be used (no scheduler at the address, workers with several threads)."""


class StaleResultsError(LabjournalError):
    """`verify`: the journal's results do not match the sources now."""


class VerifyFailedError(LabjournalError):
    """`verify`: a run differs, failed, or is not reproducible."""

    exit_code = 1


class ClaimError(LabjournalError, ValueError):
    """A claims file or a claim that cannot be evaluated; the message names the claim."""

    def __init__(self, message: str, claim_id: str | None = None):
        super().__init__(message)
        self.claim_id = claim_id
