"""SageMaker inference components: their lifecycle, their copies, and the instances they need.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceComponent.html
  "Creates an inference component, which is a SageMaker AI hosting object that you can use to
  deploy a model to an endpoint." EndpointName: "The name of an existing endpoint where you host
  the inference component." VariantName: "The name of an existing production variant where you
  host the inference component." Specification.ModelName: "The name of an existing SageMaker AI
  model object in your account". The models come with the components, so the variant that hosts
  them names no model (see `definitions`); one that does is refused in this emulator's words, and
  so, deliberately strict, are an endpoint that is not InService and a request without
  VariantName (optional in the reference, which does not say what its absence means).
  A CopyCount of 0 (or none) is refused in the words AWS answered in an account
  (https://github.com/stdapi-ai/stdapi.ai/issues/43): "Inference components copy count an integer
  larger than 0"; the copies reach 0 by UpdateInferenceComponentRuntimeConfig afterwards.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeInferenceComponent.html
  InferenceComponentStatus: InService | Creating | Updating | Failed | Deleting; RuntimeConfig:
  DesiredCopyCount "The number of runtime copies of the model container that you requested to
  deploy", CurrentCopyCount "The number of runtime copies of the model container that are
  currently deployed"; FailureReason: "If the inference component status is Failed, the reason
  for the failure."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListInferenceComponents.html
  MaxResults: "The maximum number of inference components to return in the response. This value
  defaults to 10." (1 to 100.) SortBy: "The default is CreationTime." SortOrder: "The default is
  Descending." EndpointNameEquals, VariantNameEquals, StatusEquals, NameContains filter; the page
  token is the offset of the next page.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateInferenceComponentRuntimeConfig.html
  "Runtime settings for a model that is deployed with an inference component." Like an endpoint
  (`endpoints`), a component is Updating until its copies are there, and one that is not
  InService takes no update (refused in the words SageMaker refuses an endpoint's).
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteInferenceComponent.html
  "Deletes an inference component."
https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-delete-resources.html
  "Delete inference components first. When you delete an endpoint from the SageMaker AI console,
  SageMaker AI first deletes the Inference Components that are attached to the endpoint. Then
  SageMaker AI deletes the endpoint." DeleteEndpoint of an endpoint that still hosts components
  is refused (as the console refuses it: "Once all Models are deleted, you can delete this
  endpoint.", https://github.com/aws/amazon-sagemaker-feedback/issues/143), and so is deleting a
  component that is being created (https://github.com/aws/amazon-sagemaker-examples/issues/3432),
  updated or deleted.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantManagedInstanceScaling.html
  "Settings that control the range in the number of instances that the endpoint provisions as it
  scales up or down to accommodate traffic." MinInstanceCount: "The minimum number of instances
  that the endpoint must retain when it scales down"; IDLE_RELEASE "Releases instances that have
  no hosted inference component copies." DescribeEndpoint's ProductionVariantSummary carries
  ManagedInstanceScaling and RoutingConfig.
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html
  "An endpoint can scale to and from zero instances only if it hosts inference components." "In
  the endpoint configuration, for the production variant ManagedInstanceScaling object, you've
  set the MinInstanceCount parameter to 0."

https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
  "Returns all the tagged or previously tagged resources that are located in the specified
  Region for the account." ResourceTypeFilters: "The string for each service name and resource
  type is the same as that embedded in a resource's Amazon Resource Name (ARN)", so a
  component's is sagemaker:inference-component. A component with tags is returned here too.

moto has no inference components (it answers that the actions are not implemented) and drops a
variant's ManagedInstanceScaling and RoutingConfig from DescribeEndpoint. Here a component is
Creating, Updating and Deleting for the delays of the control API, lazily like an endpoint
(`advance` runs before every request), and is listed in /_sagetide/pending meanwhile; one whose
model is gone when it would be in service is Failed. Its tags are those of AddTags, ListTags and
DeleteTags on its ARN. Each copy is taken to need one instance (the compute requirements are not
weighed against the instance type): when a component's copies change, a variant with managed
instance scaling ENABLED has clamp(its components' current copies, MinInstanceCount,
MaxInstanceCount) instances, so with MinInstanceCount 0 and no copies left it has none. A
component that is gone takes its Application Auto Scaling target with it, as a deleted endpoint
takes its variants' ("Application Auto Scaling deregisters those models as scalable targets
without notifying you",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html; AWS documents
nothing for a component: this is the emulator's choice). Not emulated: Specifications (one per
instance type), adapter components, UpdateInferenceComponent, capacity for new copies, and
ListInferenceComponents' time filters (refused as not emulated, rather than ignored).
"""

from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Iterator
from typing import Any

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from . import autoscaling, endpoints, shared
from .tags import refuse_reserved

_IN_PROGRESS = ("Creating", "Updating", "Deleting")
_DEFAULT_PAGE = 10
_LARGEST_PAGE = 100
# What the variant summaries of DescribeEndpoint keep of the config's variants, besides moto's
# fields. ModelName is not answered (moto answers only the members of AWS's shape): it is kept for
# CreateInferenceComponent, which must know whether the variant hosts a model.
_KEPT = ("ManagedInstanceScaling", "RoutingConfig", "ModelName")
_SORT_KEYS = {
    "Name": lambda c: c.name,
    "CreationTime": lambda c: c.creation_time,
    "Status": lambda c: c.status,
}
_TIME_FILTERS = (
    "CreationTimeBefore",
    "CreationTimeAfter",
    "LastModifiedTimeBefore",
    "LastModifiedTimeAfter",
)


@dataclass
class Component:
    name: str
    arn: str
    endpoint: str
    endpoint_arn: str
    variant: str
    specification: dict[str, Any]
    desired: int
    tags: list[dict[str, str]]
    current: int = 0
    status: str = "Creating"
    failure_reason: str | None = None
    due: float | None = None  # when the status in progress ends
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)

    def summary(self) -> dict[str, Any]:
        return {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant,
            "InferenceComponentStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def description(self) -> dict[str, Any]:
        described = {
            **self.summary(),
            "Specification": _deployed(self.specification),
            "RuntimeConfig": {"DesiredCopyCount": self.desired, "CurrentCopyCount": self.current},
        }
        if self.failure_reason is not None:
            described["FailureReason"] = self.failure_reason
        return described


def _deployed(specification: dict[str, Any]) -> dict[str, Any]:
    """The specification as DescribeInferenceComponent answers it: a container's image is the
    DeployedImage it was specified as (AWS resolves it to a digest, which is not emulated)."""
    container = specification.get("Container")
    if container is None or "Image" not in container:
        return specification
    rest = {k: v for k, v in container.items() if k != "Image"}
    deployed = {**rest, "DeployedImage": {"SpecifiedImage": container["Image"]}}
    return {**specification, "Container": deployed}


def _arn(backend: SageMakerModelBackend, name: str) -> str:
    return arn_formatter("inference-component", name, backend.account_id, backend.region_name)


def _find(backend: SageMakerModelBackend, name: str) -> Component:
    component = shared.inference_components(backend).get(name)
    if component is None:
        arn = _arn(backend, name)
        raise ValidationError(message=f'Could not find inference component "{arn}".')
    return component


def _in_progress(component: Component) -> ValidationError:
    return ValidationError(
        message=f'Cannot update in-progress inference component "{component.arn}".'
    )


def _enter(component: Component, status: str, delay: float | None = None) -> None:
    """Puts `component` in `status`, for `delay` seconds if it is one that passes."""
    component.status = status
    component.last_modified_time = utcnow()
    component.due = None if delay is None else shared.now() + delay


def pending() -> list[dict[str, Any]]:
    """The components in Creating, Updating or Deleting, as /_sagetide/pending lists them."""
    now = shared.now()
    return [
        {
            "account": account,
            "region": region,
            "endpoint": c.endpoint,
            "inference_component": c.name,
            "status": c.status,
            "due_in": round(max(0.0, c.due - now), 3),
        }
        for account, region, backend in shared.each_backend(sagemaker_backends)
        for c in shared.inference_components(backend).values()
        if c.due is not None
    ]


def advance() -> None:
    """Finishes every transition that is due, in the order they fell due. Call under the lock."""
    now = shared.now()
    due = [
        (c.due, backend, c)
        for _, _, backend in shared.each_backend(sagemaker_backends)
        for c in shared.inference_components(backend).values()
        if c.due is not None and c.due <= now
    ]
    for _, backend, component in sorted(due, key=lambda d: d[0]):
        _finish(backend, component)


def _finish(backend: SageMakerModelBackend, component: Component) -> None:
    match component.status:
        case "Creating":
            model = component.specification.get("ModelName")
            component.failure_reason = endpoints.failure(backend, [{"ModelName": model}])
            if component.failure_reason is None:
                component.current = component.desired
            _enter(component, "Failed" if component.failure_reason else "InService")
        case "Updating":
            component.current = component.desired
            _enter(component, "InService")
        case "Deleting":
            del shared.inference_components(backend)[component.name]
            autoscaling.forget_component(backend.account_id, backend.region_name, component.name)
    _follow_copies(backend, component)


def _follow_copies(backend: SageMakerModelBackend, component: Component) -> None:
    """Gives the component's variant the instances its copies need, if SageMaker manages them."""
    endpoint = backend.endpoints[component.endpoint]
    variant = next(v for v in endpoint.production_variants if v["VariantName"] == component.variant)
    scaling = variant.get("ManagedInstanceScaling") or {}
    if scaling.get("Status") != "ENABLED":
        return
    copies = sum(
        c.current
        for c in shared.inference_components(backend).values()
        if (c.endpoint, c.variant) == (component.endpoint, component.variant)
    )
    low = scaling.get("MinInstanceCount", 0)
    high = scaling.get("MaxInstanceCount", max(copies, low))
    variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = min(max(copies, low), high)


def update_runtime_config(self: SageMakerModelBackend, name: str, copies: int) -> str:
    """UpdateInferenceComponentRuntimeConfig, for SageMaker's callers and Application Auto
    Scaling's; the component's ARN."""
    component = _find(self, name)
    if component.status != "InService":
        raise _in_progress(component)
    component.desired = copies
    _enter(component, "Updating", shared.TIMING.updating)
    return component.arn


# --- the actions, which moto lacks ----------------------------------------------------------------


def create_inference_component(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    refuse_reserved(self._get_param("Tags"))
    components = shared.inference_components(backend)
    if name in components:
        raise ValidationError(
            message=f'Cannot create already existing inference component "{_arn(backend, name)}".'
        )
    endpoint = shared.find_endpoint(backend, self._get_param("EndpointName"))
    if endpoint.endpoint_status != "InService":
        raise ValidationError(
            message=f'Endpoint "{endpoint.arn}" is {endpoint.endpoint_status}: an inference '
            "component needs an InService endpoint."
        )
    variant_name = self._get_param("VariantName")
    variant = next(
        (v for v in endpoint.production_variants if v["VariantName"] == variant_name), None
    )
    if variant is None:
        raise ValidationError(
            message=f'Endpoint "{endpoint.arn}" has no production variant "{variant_name}".'
        )
    if "ModelName" in variant:
        raise ValidationError(
            message=f'Production variant "{variant_name}" of endpoint "{endpoint.arn}" hosts a '
            "model: inference components need a variant without ModelName."
        )
    specification = self._get_param("Specification")
    if specification is None:
        raise ValidationError(
            message="Specification is required here (Specifications is not emulated)."
        )
    model = specification.get("ModelName")
    if model is not None and model not in backend._models:
        arn = arn_formatter("model", model, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find model '{arn}'.")  # as CreateEndpointConfig
    copies = (self._get_param("RuntimeConfig") or {}).get("CopyCount")
    if not copies:
        raise ValidationError(message="Inference components copy count an integer larger than 0")
    component = Component(
        name=name,
        arn=_arn(backend, name),
        endpoint=endpoint.endpoint_name,
        endpoint_arn=endpoint.arn,
        variant=variant_name,
        specification=specification,
        desired=copies,
        tags=self._get_param("Tags") or [],
    )
    components[name] = component
    _enter(component, "Creating", shared.TIMING.creating)
    return ActionResult({"InferenceComponentArn": component.arn})


def describe_inference_component(self: SageMakerResponse) -> ActionResult:
    component = _find(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    return ActionResult(component.description())


def list_inference_components(self: SageMakerResponse) -> ActionResult:
    unemulated = [f for f in _TIME_FILTERS if self._get_param(f) is not None]
    if unemulated:
        raise ValidationError(message=f"Not emulated here: {', '.join(unemulated)}.")
    tests = {
        "EndpointNameEquals": lambda c, v: c.endpoint == v,
        "VariantNameEquals": lambda c, v: c.variant == v,
        "StatusEquals": lambda c, v: c.status == v,
        "NameContains": lambda c, v: v in c.name,
    }
    given = {k: self._get_param(k) for k in tests if self._get_param(k) is not None}
    found = sorted(
        (
            c
            for c in shared.inference_components(self.sagemaker_backend).values()
            if all(tests[k](c, v) for k, v in given.items())
        ),
        key=_SORT_KEYS[self._get_param("SortBy") or "CreationTime"],
        reverse=(self._get_param("SortOrder") or "Descending") == "Descending",
    )
    size = min(int(self._get_param("MaxResults") or _DEFAULT_PAGE), _LARGEST_PAGE)
    start = int(self._get_param("NextToken") or 0)
    page = {"InferenceComponents": [c.summary() for c in found[start : start + size]]}
    if start + size < len(found):
        page["NextToken"] = str(start + size)
    return ActionResult(page)


def update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    copies = self._get_param("DesiredRuntimeConfig")["CopyCount"]
    arn = self.sagemaker_backend.update_inference_component_runtime_config(
        self._get_param("InferenceComponentName"), copies
    )
    return ActionResult({"InferenceComponentArn": arn})


def delete_inference_component(self: SageMakerResponse) -> EmptyResult:
    component = _find(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    if component.status in _IN_PROGRESS:
        raise _in_progress(component)
    _enter(component, "Deleting", shared.TIMING.deleting)
    return EmptyResult()


def install() -> None:
    summarise = FakeEndpoint._process_production_variants
    find = SageMakerModelBackend._get_resource_from_arn
    delete_endpoint = SageMakerModelBackend.delete_endpoint

    def summarise_whole(self: FakeEndpoint, variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        summaries = summarise(self, variants)
        for summary, variant in zip(summaries, variants):
            summary.update({k: variant[k] for k in _KEPT if k in variant})
        return summaries

    def find_components_too(self: SageMakerModelBackend, arn: str) -> Any:
        kind, _, name = arn.split(":")[-1].partition("/")
        return _find(self, name) if kind == "inference-component" else find(self, arn)

    def delete_endpoint_without_components(self: SageMakerModelBackend, name: str) -> None:
        components = shared.inference_components(self).values()
        hosted = sorted(c.name for c in components if c.endpoint == name)
        if hosted:
            endpoint = shared.find_endpoint(self, name)
            raise ValidationError(
                message=f'Endpoint "{endpoint.arn}" hosts inference components '
                f"({', '.join(hosted)}): delete them first."
            )
        delete_endpoint(self, name)

    tagged_resources = SageMakerModelBackend.iter_tagged_resources

    def tagged_components_too(self: SageMakerModelBackend) -> Iterator[TaggedResource]:
        yield from tagged_resources(self)
        for component in shared.inference_components(self).values():
            if component.tags:
                yield TaggedResource(
                    arn=component.arn,
                    tags={t["Key"]: t["Value"] for t in component.tags},
                    resource_type="sagemaker:inference-component",
                )

    SageMakerModelBackend.iter_tagged_resources = tagged_components_too
    FakeEndpoint._process_production_variants = summarise_whole
    SageMakerModelBackend._get_resource_from_arn = find_components_too
    SageMakerModelBackend.delete_endpoint = delete_endpoint_without_components
    SageMakerModelBackend.update_inference_component_runtime_config = update_runtime_config
    # moto dispatches an X-Amz-Target to the response method of that name in snake case.
    SageMakerResponse.create_inference_component = create_inference_component
    SageMakerResponse.describe_inference_component = describe_inference_component
    SageMakerResponse.list_inference_components = list_inference_components
    SageMakerResponse.update_inference_component_runtime_config = (
        update_inference_component_runtime_config
    )
    SageMakerResponse.delete_inference_component = delete_inference_component
