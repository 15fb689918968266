"""Stripe-shaped error bodies and the exception the fake's handlers raise to answer with one."""


class StripeAPIFailure(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None):
        super().__init__(message)
        self.status = status
        doc_url = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}" if code else None
        self.body = {"error": {k: v for k, v in {"type": type, "message": message, "code": code, "doc_url": doc_url,
                                                  "param": param}.items() if v is not None}}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeAPIFailure:
    return StripeAPIFailure(400, message, param=param, code=code)


def missing(object_name: str, object_id: str, param: str = "id") -> StripeAPIFailure:
    return StripeAPIFailure(404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param)
