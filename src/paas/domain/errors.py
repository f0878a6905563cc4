"""Domain errors. Each carries the HTTP status and the Heroku-style error id the API answers with."""


class PaasError(Exception):
    status = 400
    id = "bad_request"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details  # more fields of the API's answer (a record to make, say)


class Unauthorized(PaasError):
    status = 401
    id = "unauthorized"


class Forbidden(PaasError):
    status = 403
    id = "forbidden"


class NotFound(PaasError):
    status = 404
    id = "not_found"


class Conflict(PaasError):
    status = 409
    id = "conflict"


class InvalidParams(PaasError):
    status = 422
    id = "invalid_params"


class RangeNotSatisfiable(PaasError):
    status = 416
    id = "requested_range_not_satisfiable"


class TooManyRequests(PaasError):
    status = 429
    id = "rate_limit"


class Unavailable(PaasError):
    status = 503
    id = "unavailable"


class DomainUnverified(InvalidParams):
    id = "domain_unverified"


class DnsUnavailable(Unavailable):
    id = "dns_unavailable"
