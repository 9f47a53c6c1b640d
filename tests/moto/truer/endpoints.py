"""SageMaker endpoints that take time to create, update and delete, and say so on EventBridge.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html
  "Creating: CreateEndpoint is executing." "Deleting: DeleteEndpoint is executing." "Failed:
  Endpoint could not be created, updated, or re-scaled. Use the FailureReason value returned by
  DescribeEndpoint for information about the failure. DeleteEndpoint is the only operation that
  can be performed on a failed endpoint." AsyncInferenceConfig: "Returns the description of an
  endpoint configuration created using the CreateEndpointConfig API."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html
  "The endpoint name must be unique within an Amazon Web Services Region in your Amazon Web
  Services account."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpointWeightsAndCapacities.html
  "Updates variant weight of one or more variants associated with an existing endpoint, or
  capacity of one variant associated with an existing endpoint. When it receives the request,
  SageMaker sets the endpoint status to Updating. After updating the endpoint, it sets the
  status to InService." (A request with the capacity of more than one variant is refused.)
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html
  InitialVariantWeight: "If unspecified, it defaults to 1.0."
https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
  (Endpoint state change) "Indicates a change in the status of a SageMaker hosted real-time
  inference endpoint." Its example: detail-type "SageMaker Endpoint State Change", EndpointStatus
  "IN_SERVICE", CreationTime and LastModifiedTime in epoch milliseconds.

moto makes an endpoint InService the moment it is asked, replaces an endpoint whose name exists,
deletes at once, and applies UpdateEndpointWeightsAndCapacities at once (setting an omitted
DesiredWeight or DesiredInstanceCount to null), gives a variant created without a weight
none, and keeps no AsyncInferenceConfig on an endpoint. Here CreateEndpoint of an existing name
is refused as AWS refuses it (a retried call whose first answer was lost must meet AWS's answer),
each change takes the delay set through the control API, and transitions are applied lazily:
`advance` runs before every request, under `shared.LOCK`. An endpoint that is being created
fails, as AWS's does, when a model it hosts is gone by the time it would be in service or when
its instance type has no capacity (`set_capacity`). Every status an endpoint enters is queued as
the EventBridge event AWS sends, for the tests to hand to the functions; the disappearance of a
deleted endpoint is not, as AWS does not reliably send one. When an endpoint is gone, its
Application Auto Scaling targets and its endpoint policy go with it.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import AWSValidationException, ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.utils import arn_formatter

from . import autoscaling, endpoint_policy, shared
from .tags import refuse_reserved

_IN_PROGRESS = ("Creating", "Updating", "Deleting")
_EVENT_STATUS = {
    "Creating": "CREATING",
    "InService": "IN_SERVICE",
    "Updating": "UPDATING",
    "Failed": "FAILED",
    "Deleting": "DELETING",
}
_NO_CAPACITY = (
    "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity "
    "error. Please retry using a different ML instance type or after some time."
)


@dataclass
class _Pending:
    """An endpoint in Creating, Updating or Deleting, and when that ends."""

    due: float
    # What a Creating endpoint is being built from, as its config said when it was asked for:
    # the config may be deleted before the endpoint is in service.
    variants: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def after(cls, delay: float, variants: list[dict[str, Any]] | None = None) -> "_Pending":
        return cls(due=shared.now() + delay, variants=variants or [])


_pending: dict[str, _Pending] = {}  # by endpoint ARN, which names account and region too
_events: list[dict[str, Any]] = []
_unavailable: set[str] = set()


def _in_progress(endpoint: FakeEndpoint) -> ValidationError:
    return ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')


def set_capacity(instance_type: str, available: bool) -> list[str]:
    """Makes `instance_type` (un)available to endpoints being created; the unavailable ones."""
    if available:
        _unavailable.discard(instance_type)
    else:
        _unavailable.add(instance_type)
    return sorted(_unavailable)


def take_events() -> list[dict[str, Any]]:
    """Every queued event, oldest first; the queue is emptied."""
    taken = list(_events)
    _events.clear()
    return taken


def pending() -> list[dict[str, Any]]:
    """The endpoints in Creating, Updating or Deleting, soonest due first."""
    now = shared.now()
    found = []
    for account, region, backend in shared.each_backend(sagemaker_backends):
        for endpoint in backend.endpoints.values():
            if (p := _pending.get(endpoint.arn)) is not None:
                found.append(
                    {
                        "account": account,
                        "region": region,
                        "endpoint": endpoint.endpoint_name,
                        "status": endpoint.endpoint_status,
                        "due_in": round(max(0.0, p.due - now), 3),
                    }
                )
    return sorted(found, key=lambda f: f["due_in"])


def reset() -> None:
    _pending.clear()
    _events.clear()
    _unavailable.clear()


def advance() -> None:
    """Finishes every transition that is due, in the order they fell due. Call under the lock."""
    now = shared.now()
    due = [
        (p.due, backend, endpoint)
        for _, _, backend in shared.each_backend(sagemaker_backends)
        for endpoint in backend.endpoints.values()
        if (p := _pending.get(endpoint.arn)) is not None and p.due <= now
    ]
    for _, backend, endpoint in sorted(due, key=lambda d: d[0]):
        _finish(backend, endpoint, _pending.pop(endpoint.arn))


def _finish(backend: SageMakerModelBackend, endpoint: FakeEndpoint, done: _Pending) -> None:
    match endpoint.endpoint_status:
        case "Creating":
            endpoint.failure_reason = failure(backend, done.variants)
            _enter(endpoint, "Failed" if endpoint.failure_reason else "InService")
        case "Updating":
            for variant in endpoint.production_variants:
                for what in ("Weight", "InstanceCount"):
                    if f"Desired{what}" in variant:
                        variant[f"Current{what}"] = variant[f"Desired{what}"]
            _enter(endpoint, "InService")
        case "Deleting":
            del backend.endpoints[endpoint.endpoint_name]
            autoscaling.forget_endpoint(
                backend.account_id, backend.region_name, endpoint.endpoint_name
            )
            endpoint_policy.forget(endpoint.arn)


def failure(backend: SageMakerModelBackend, variants: list[dict[str, Any]]) -> str | None:
    """Why an endpoint (or inference component) built from `variants` cannot come into service
    now, if it cannot."""
    for variant in variants:
        model = variant.get("ModelName")
        if model is not None and model not in backend._models:
            arn = arn_formatter("model", model, backend.account_id, backend.region_name)
            return f'Could not find model "{arn}".'
    if any(v.get("InstanceType") in _unavailable for v in variants):
        return _NO_CAPACITY
    return None


def _enter(endpoint: FakeEndpoint, status: str, until: _Pending | None = None) -> None:
    """Puts `endpoint` in `status` (`until` it passes, for a passing one) and says so."""
    endpoint.endpoint_status = status
    endpoint.last_modified_time = utcnow()
    if until is not None:
        _pending[endpoint.arn] = until
    _events.append(_event(endpoint))


def _millis(moment: datetime) -> float:
    # moto keeps naive UTC datetimes; AWS's example event gives whole epoch milliseconds as a
    # float (1592411992203.0).
    return float(round(moment.replace(tzinfo=timezone.utc).timestamp() * 1000))


def _event(endpoint: FakeEndpoint) -> dict[str, Any]:
    _, _, _, region, account, _ = endpoint.arn.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [endpoint.arn],
        "detail": {
            "EndpointName": endpoint.endpoint_name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.endpoint_config_name,
            "EndpointStatus": _EVENT_STATUS[endpoint.endpoint_status],
            "CreationTime": _millis(endpoint.creation_time),
            "LastModifiedTime": _millis(endpoint.last_modified_time),
            "Tags": {t["Key"]: t["Value"] for t in endpoint.tags},
        },
    }


def create_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    tags: list[dict[str, str]] | None,
) -> FakeEndpoint:
    refuse_reserved(tags)
    if endpoint_name in self.endpoints:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f'Cannot create already existing endpoint "{arn}".')
    config = self.describe_endpoint_config(endpoint_config_name)
    variants = _weighted(config["ProductionVariants"])
    shadows = _weighted(config.get("ShadowProductionVariants") or [])
    endpoint = FakeEndpoint(
        account_id=self.account_id,
        region_name=self.region_name,
        endpoint_name=endpoint_name,
        endpoint_config_name=endpoint_config_name,
        production_variants=variants,
        data_capture_config=config.get("DataCaptureConfig"),
        tags=tags,
    )
    if shadows:
        # moto knows no shadow variants; DescribeEndpoint and Search summarise them as AWS does.
        endpoint.shadow_production_variants = endpoint._process_production_variants(shadows)
    # moto keeps no AsyncInferenceConfig on an endpoint; DescribeEndpoint answers it as AWS does,
    # and Application Auto Scaling lets only such an endpoint's variants scale in to 0 instances.
    endpoint.async_inference_config = config.get("AsyncInferenceConfig")
    self.endpoints[endpoint_name] = endpoint
    _enter(endpoint, "Creating", _Pending.after(shared.TIMING.creating, variants + shadows))
    return endpoint


def _weighted(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # An update that keeps a variant's weight must have a weight to keep.
    return [{"InitialVariantWeight": 1.0, **v} for v in variants]


def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
    endpoint = shared.find_endpoint(self, endpoint_name)
    if endpoint.endpoint_status in _IN_PROGRESS:
        raise _in_progress(endpoint)
    _enter(endpoint, "Deleting", _Pending.after(shared.TIMING.deleting))


def install() -> None:
    update = SageMakerModelBackend.update_endpoint_weights_and_capacities

    def update_gradually(
        self: SageMakerModelBackend,
        endpoint_name: str,
        desired_weights_and_capacities: list[dict[str, Any]],
    ) -> str:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise AWSValidationException(f'Could not find endpoint "{arn}".')
        if endpoint.endpoint_status != "InService":
            raise _in_progress(endpoint)
        capacities = [a for a in desired_weights_and_capacities if a.get("DesiredInstanceCount")]
        if len(capacities) > 1:
            raise AWSValidationException(
                "UpdateEndpointWeightsAndCapacities updates the capacity of one variant at a "
                f"time; {len(capacities)} were given."
            )
        before = {v["VariantName"]: dict(v) for v in endpoint.production_variants}

        def keeping_what_is_omitted(asked: dict[str, Any]) -> dict[str, Any]:
            current = before.get(asked.get("VariantName"), {})
            kept = {
                f"Desired{what}": current[f"Desired{what}"]
                for what in ("Weight", "InstanceCount")
                if f"Desired{what}" in current
            }
            return {**kept, **{k: v for k, v in asked.items() if v is not None}}

        # moto validates the variant names and sets Desired* and Current* alike; Current* stay
        # as they were until the update is done.
        arn = update(
            self,
            endpoint_name,
            [keeping_what_is_omitted(a) for a in desired_weights_and_capacities],
        )
        for variant in endpoint.production_variants:
            for what in ("Weight", "InstanceCount"):
                current = before[variant["VariantName"]].get(f"Current{what}")
                if current is not None:
                    variant[f"Current{what}"] = current
        _enter(endpoint, "Updating", _Pending.after(shared.TIMING.updating))
        return arn

    SageMakerModelBackend.create_endpoint = create_endpoint
    SageMakerModelBackend.delete_endpoint = delete_endpoint
    SageMakerModelBackend.update_endpoint_weights_and_capacities = update_gradually
