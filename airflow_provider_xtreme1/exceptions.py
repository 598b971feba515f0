"""Errors raised by the Xtreme1 provider.

Every error is an ``AirflowException`` so Airflow fails (and retries) the task as usual::

    Xtreme1Error
    ├── Xtreme1ConfigError          the connection or an argument is unusable (no token, bad URL)
    │   └── Xtreme1DestinationExistsError  a file or object to write exists (no ``overwrite``);
    │                                      also a ``FileExistsError``
    ├── Xtreme1TransportError       no usable answer: network failure, 5xx/429, a body that is not JSON
    │   └── Xtreme1AnswerLostError  a request that starts something was sent, its answer lost (no retry)
    ├── Xtreme1ApiError             the server answered with a non-OK ``code`` (also at HTTP 200)
    │   ├── Xtreme1AuthError        HTTP 401 / LOGIN_STATUS_TIMEOUT: the token was rejected
    │   └── Xtreme1NotFoundError    the dataset, model, record or serial does not exist
    ├── Xtreme1StorageError         a presigned object-storage PUT/GET failed
    │   └── Xtreme1UrlExpiredError  HTTP 403 from storage: the presigned URL expired or its signature broke
    ├── Xtreme1ValidationError      a dataset folder or archive breaks the server's layout rules
    └── Xtreme1JobError             an import, export or model run did not end well
        ├── Xtreme1JobFailedError   the server reported FAILED / FAILURE
        ├── Xtreme1JobStalledError  no progress for ``stall_timeout`` seconds
        ├── Xtreme1JobTimeoutError  not finished within ``timeout`` seconds
        └── Xtreme1UnknownStatusError  a status this provider does not know (fail closed)
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class Xtreme1Error(AirflowException):
    """Base class of every error raised by this provider."""


class Xtreme1ConfigError(Xtreme1Error):
    """The connection or an argument cannot be used as given."""


class Xtreme1DestinationExistsError(Xtreme1ConfigError, FileExistsError):
    """A destination (downloaded export, packed archive, converted folder, unpacked export) already
    exists and ``overwrite`` was not given. Raised before anything is started or written.

    Also a ``FileExistsError``, so code catching the standard error keeps working.
    """

    def __init__(self, message: str, path: object = None) -> None:
        super().__init__(message)
        self.filename = None if path is None else str(path)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Xtreme1TransportError(Xtreme1Error):
    """The request got no usable answer (network error, gateway error, rate limit, non-JSON body).

    :param message: what went wrong, naming the endpoint.
    :param status: the HTTP status, or ``None`` when no response arrived.
    :param retry_after: seconds the server asked us to wait (``Retry-After``), if any.
    :param retryable: ``False`` when repeating the request cannot help or could act twice (a TLS
        failure, a redirect, a lost answer to a start call); the retry engine reads it with ``status``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool = True,
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable


class Xtreme1AnswerLostError(Xtreme1TransportError, AirflowFailException):
    """A request that starts something (import, export, model run, dataset) was sent, but its answer was
    lost: the server may have acted on it.

    Also an ``AirflowFailException``: the task fails **without** Airflow's retries, since a retry would
    start the job a second time. The message says what may have started and how to check.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status=status, retry_after=retry_after, retryable=False)


class Xtreme1ApiError(Xtreme1Error):
    """The server answered with an envelope whose ``code`` is not ``OK``.

    Xtreme1 reports most business errors with HTTP 200, so the HTTP status alone says little.
    """

    def __init__(self, code: str, message: str, *, http_status: int, endpoint: str):
        self.code = code
        self.server_message = message
        self.http_status = http_status
        self.endpoint = endpoint
        super().__init__(
            f"Xtreme1 {endpoint} failed: {code}: {message or '(no message)'} (HTTP {http_status})"
        )


class Xtreme1AuthError(Xtreme1ApiError):
    """The API token was rejected (HTTP 401, ``LOGIN_STATUS_TIMEOUT``)."""

    def __init__(self, code: str, message: str, *, http_status: int, endpoint: str):
        super().__init__(code, message, http_status=http_status, endpoint=endpoint)
        self.args = (
            f"Xtreme1 rejected the API token on {endpoint} ({code}, HTTP {http_status}). "
            "Check the password field of the Xtreme1 connection: the token may be wrong, deleted or expired.",
        )


class Xtreme1NotFoundError(Xtreme1ApiError):
    """The dataset, model, record or serial number does not exist."""


class Xtreme1StorageError(Xtreme1Error):
    """A transfer to or from a presigned object-storage URL failed."""

    def __init__(self, message: str, *, status: int | None = None, storage_code: str | None = None):
        super().__init__(message)
        self.status = status
        self.storage_code = storage_code


class Xtreme1UrlExpiredError(Xtreme1StorageError):
    """Object storage refused the presigned URL (HTTP 403): it expired or its signature no longer matches."""


class Xtreme1ValidationError(Xtreme1Error):
    """A dataset folder or archive does not follow the layout Xtreme1 imports."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class Xtreme1JobError(Xtreme1Error):
    """An import, export or model run did not end well."""


class Xtreme1JobFailedError(Xtreme1JobError):
    """The server reported the job as failed."""


class Xtreme1ReconcileError(Xtreme1JobError):
    """The import finished, but the dataset does not hold everything the archive sent."""


class Xtreme1JobStalledError(Xtreme1JobError):
    """The job made no progress for ``stall_timeout`` seconds."""


class Xtreme1JobTimeoutError(Xtreme1JobError):
    """The job did not finish within ``timeout`` seconds."""


class Xtreme1UnknownStatusError(Xtreme1JobError):
    """The server reported a status this provider does not know; treated as a failure."""


class Xtreme1OntologyDriftError(Xtreme1Error):
    """A dataset's classes or classifications differ from its ontology file (the sync's ``mode="check"``)."""
