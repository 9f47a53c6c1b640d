"""What the emulations share: one lock, the transition delays, a walk over moto's backends, and
where the inference components are kept.

moto server answers on many threads (werkzeug's `threaded=True`) and moto itself takes no lock
around its backends. The emulations here change several services at once (an endpoint that
finishes deleting takes its Application Auto Scaling targets and CloudWatch alarms with it), so
those changes, and every request to the services they touch, run under `LOCK`.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from moto.core.base_backend import BackendDict
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend

# Re-entrant, so that code holding it may call anything that takes it.
LOCK = threading.RLock()

Backend = TypeVar("Backend")


@dataclass
class Timing:
    """Seconds (real clock) each transition takes; 0 makes it happen at the next request."""

    creating: float = 0.0
    deleting: float = 0.0
    updating: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


TIMING = Timing()


def now() -> float:
    """The clock due times are kept in: monotonic, so a wall-clock jump moves no endpoint."""
    return time.monotonic()


def each_backend(backends: BackendDict[Backend]) -> Iterator[tuple[str, str, Backend]]:
    """Every (account, region, backend) moto has made so far, whoever's account it is."""
    # Copies, as another request may make a backend for a new account or region meanwhile.
    for account, regions in list(backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def under_lock(response_class: Any) -> None:
    """Makes every action of `response_class` run under `LOCK`."""
    call_action = response_class.call_action

    def locked(self: Any) -> Any:
        with LOCK:
            return call_action(self)

    response_class.call_action = locked


def find_endpoint(backend: SageMakerModelBackend, name: str) -> FakeEndpoint:
    """The endpoint, or moto's own ValidationException for one that does not exist."""
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")  # as DescribeEndpoint
    return endpoint


def inference_components(backend: SageMakerModelBackend) -> dict[str, Any]:
    """The inference components of `backend` by name (`components` makes and changes them): kept
    on the backend, so that moto's reset forgets them with everything else."""
    return vars(backend).setdefault("inference_components", {})
