"""CloudWatch in Smithy RPC v2 CBOR, the protocol the current aws-sdk-cloudwatch speaks.

https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
  "Requests ... MUST use the POST method ... /service/{serviceName}/operation/{operationName}",
  with the header `smithy-protocol: rpc-v2-cbor` and a CBOR body; responses carry the same
  header and a CBOR body; an error's body names its shape in `__type`. Timestamps are CBOR tag 1
  (epoch seconds).
https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait
  CloudWatch is `awsQueryCompatible`: an error also carries `x-amzn-query-error: Code;Fault`,
  from which clients take the error code they used to read from the query protocol.

moto 5.2.5 serves CloudWatch in awsQuery and awsJson1_0 only, and answers a CBOR request with
HTML. Each CBOR request is read with botocore's model of CloudWatch (the same model AWS's
clients are generated from), handed to moto as the same operation in awsJson1_0, and moto's
answer written back in CBOR, typed by the operation's output shape. Requests in the other
protocols pass through untouched.
"""

import gzip
import io
import re
from collections.abc import Iterable
from typing import Any

import botocore.session
from botocore.parsers import JSONParser, RpcV2CBORParser
from botocore.serialize import JSONSerializer, RpcV2CBORSerializer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_MODEL = botocore.session.get_session().get_service_model("cloudwatch")
_PATH = re.compile(rf"^/service/{_MODEL.metadata['targetPrefix']}/operation/(\w+)$")
_CBOR_HEADERS = [("smithy-protocol", "rpc-v2-cbor"), ("Content-Type", "application/cbor")]
# An error's shape by its query code (`LimitExceeded` is the shape `LimitExceededFault`); where
# two shapes share a code, the one named for it. A code the model does not know stays as it is.
_SHAPES = {
    shape.error_code: shape.name
    for shape in sorted(_MODEL.error_shapes, key=lambda s: s.name == s.error_code)
}


class _Encoder(RpcV2CBORSerializer):
    """botocore's CBOR writer, for the answer's shapes instead of a request's."""

    def encode(self, value: dict[str, Any], shape: Any) -> bytes:
        out = bytearray()
        self._serialize_data_item(out, value, shape)
        return bytes(out)

    def error(self, code: str, message: str) -> bytes:
        out = bytearray()
        out.extend(self._get_initial_byte(self.MAP_MAJOR_TYPE, 2))
        shape = _SHAPES.get(code, code)
        for text in ("__type", f"com.amazonaws.cloudwatch#{shape}", "message", message):
            self._serialize_type_string(out, text, None, None)
        return bytes(out)


def _call(
    app: Any, environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """What the wrapped application answers `environ`: status, headers and the whole body."""
    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answered.update(status=int(status.split()[0]), headers=headers)

    body = b"".join(app(environ, start_response))
    return answered["status"], answered["headers"], body


def translate(app: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes] | None:
    """The CBOR answer to a CBOR CloudWatch request in `environ`; None for any other request."""
    match = _PATH.match(environ.get("PATH_INFO", ""))
    if match is None or environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor":
        return None
    operation = _MODEL.operation_model(match[1])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    # The SDK compresses large PutMetricData requests (CloudWatch's `requestCompression`).
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        body = gzip.decompress(body)
    params = RpcV2CBORParser().parse(
        {"body": body, "headers": {}, "status_code": 200}, operation.input_shape
    )
    params.pop("ResponseMetadata", None)
    request = JSONSerializer().serialize_to_request(params, operation)
    json_body = request["body"]
    environ = dict(
        environ,
        PATH_INFO="/",
        CONTENT_TYPE=request["headers"]["Content-Type"],
        CONTENT_LENGTH=str(len(json_body)),
        HTTP_X_AMZ_TARGET=request["headers"]["X-Amz-Target"],
        **{"wsgi.input": io.BytesIO(json_body)},
    )
    for header in ("HTTP_SMITHY_PROTOCOL", "HTTP_CONTENT_ENCODING"):
        environ.pop(header, None)
    status, headers, answer = _call(app, environ)
    kept = [
        (k, v) for k, v in headers if k.lower() in ("x-amzn-requestid", "x-amzn-query-error")
    ]
    encoder = _Encoder()
    if status < 300:
        parsed = JSONParser().parse(
            {"body": answer, "headers": dict(headers), "status_code": status},
            operation.output_shape,
        )
        parsed.pop("ResponseMetadata", None)
        shape = operation.output_shape
        answer = encoder.encode(parsed, shape) if shape is not None else b""
    else:
        error = JSONParser().parse(
            {"body": answer, "headers": dict(headers), "status_code": status}, None
        )["Error"]
        answer = encoder.error(error["Code"], error.get("Message", ""))
    out = _CBOR_HEADERS + kept + [("Content-Length", str(len(answer)))]
    start_response(f"{status} {'OK' if status < 300 else 'Error'}", out)
    return [answer]


def install() -> None:
    dispatch = DomainDispatcherApplication.__call__

    def call(
        self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        inner = lambda env, start: dispatch(self, env, start)  # noqa: E731
        answer = translate(inner, environ, start_response)
        if answer is None:
            return dispatch(self, environ, start_response)
        return answer

    DomainDispatcherApplication.__call__ = call
