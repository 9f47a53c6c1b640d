"""The control API on moto's port (not an AWS API): what the tests set and take, in JSON.

  POST /_sagetide/timing         {"creating": s, "deleting": s, "updating": s} (any subset)
                                 -> the timing now in force
  POST /_sagetide/capacity       {"instance_type": "ml.g4dn.xlarge", "available": false}
                                 -> {"unavailable": [instance types]}
  POST /_sagetide/metric-status  {"metric": "Invocations", "status": "InternalError" | null}
                                 -> {"statuses": {metric: status}}
  GET  /_sagetide/pending        -> {"pending": [{"account", "region", "endpoint", "status",
                                    "due_in"}]}, and for an inference component
                                    "inference_component" too (its endpoint's name in
                                    "endpoint"), soonest due first
  POST /_sagetide/events/take    -> {"events": [...]}, oldest first; the queue is emptied
  POST /moto-api/reset           (moto's own) also forgets the state kept here, but the timing

Where AWS makes a caller wait (an endpoint or inference component being created, updated,
deleted), so does this server, by the delays set here; where AWS sends EventBridge events, they
queue here for the tests to hand to the functions. Every request, control or AWS, first finishes
the transitions that are due (see `endpoints` and `components`).
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from werkzeug.wrappers import Request, Response

from . import autoscaling, components, definitions, endpoint_policy, endpoints, metrics, shared

_PREFIX = "/_sagetide/"


class _BadRequest(Exception):
    pass


def _number(body: dict[str, Any], key: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _BadRequest(f"{key} must be a number of seconds, 0 or more, not {value!r}")
    return float(value)


def _timing(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - set(shared.TIMING.as_dict())
    if unknown:
        raise _BadRequest(f"unknown transitions {sorted(unknown)}")
    for key, seconds in {key: _number(body, key) for key in body}.items():
        setattr(shared.TIMING, key, seconds)
    return shared.TIMING.as_dict()


def _capacity(body: dict[str, Any]) -> dict[str, Any]:
    instance_type, available = body.get("instance_type"), body.get("available")
    if not isinstance(instance_type, str) or not isinstance(available, bool):
        raise _BadRequest('needs {"instance_type": string, "available": true or false}')
    return {"unavailable": endpoints.set_capacity(instance_type, available)}


def _metric_status(body: dict[str, Any]) -> dict[str, Any]:
    metric, status = body.get("metric"), body.get("status")
    if not isinstance(metric, str) or (status is not None and status not in metrics.STATUSES):
        raise _BadRequest(
            f'needs {{"metric": string, "status": one of {metrics.STATUSES} or null}}'
        )
    return {"statuses": metrics.set_status(metric, status)}


def _pending(_: dict[str, Any]) -> dict[str, Any]:
    changing = endpoints.pending() + components.pending()
    return {"pending": sorted(changing, key=lambda p: p["due_in"])}


def _take_events(_: dict[str, Any]) -> dict[str, Any]:
    return {"events": endpoints.take_events()}


_ROUTES: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("POST", "timing"): _timing,
    ("POST", "capacity"): _capacity,
    ("POST", "metric-status"): _metric_status,
    ("GET", "pending"): _pending,
    ("POST", "events/take"): _take_events,
}


def _answer(request: Request) -> Response:
    route = _ROUTES.get((request.method, request.path[len(_PREFIX) :]))
    if route is None:
        return _json({"error": f"no {request.method} {request.path}"}, 404)
    try:
        body = json.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        with shared.LOCK:
            _advance()
            return _json(route(body))
    except (_BadRequest, ValueError) as e:
        return _json({"error": str(e)}, 400)


def _json(answer: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(answer), status=status, mimetype="application/json")


def _advance() -> None:
    """Finishes the transitions that are due: the endpoints', then the inference components'."""
    endpoints.advance()
    components.advance()


def forget_everything() -> None:
    """What moto's reset does to moto, for the state kept here; the timing stays. (The inference
    components are kept on moto's backends, which the reset empties.)"""
    endpoints.reset()
    endpoint_policy.reset()
    definitions.reset()
    autoscaling.reset()
    metrics.reset()


def install() -> None:
    dispatch = DomainDispatcherApplication.__call__

    def call(
        self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(_PREFIX):
            return _answer(Request(environ))(environ, start_response)
        with shared.LOCK:
            _advance()
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            with shared.LOCK:
                answer = dispatch(self, environ, start_response)
                forget_everything()
            return answer
        return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call
