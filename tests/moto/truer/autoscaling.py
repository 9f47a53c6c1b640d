"""Application Auto Scaling of SageMaker variants and inference components: targets, tags,
policies and their alarms.

https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
  "Registers or updates a scalable target, which is the resource that you want to scale." Its
  only documented refusal is ValidationException ("An exception was thrown for a validation
  issue."), which for a SageMaker variant it cannot scale reads "Resource Id
  endpoint/E/variant/V is not scalable. Reason: ...". Refusing a missing endpoint, variant or
  inference component, one that is not InService, a serverless variant's DesiredInstanceCount,
  and the DesiredProvisionedConcurrency of a variant without provisioned concurrency is
  deliberately strict: the reasons are this emulator's words.
  Tags: "Use this parameter to tag the scalable target when it is created. To tag an existing
  scalable target, use the TagResource operation."
  ResourceId: "SageMaker inference component - The resource type is inference-component and the
  unique identifier is the resource ID. Example: inference-component/my-inference-component."
  ScalableDimension: "sagemaker:variant:DesiredProvisionedConcurrency - The provisioned
  concurrency for a SageMaker serverless endpoint." "sagemaker:inference-component:
  DesiredCopyCount - The number of copies across an endpoint for a SageMaker inference
  component." (moto knows neither.)
  MinCapacity: "For the following resources, the minimum value allowed is 0. ... SageMaker
  endpoint variants, SageMaker inference components, SageMaker serverless endpoint provisioned
  concurrency ... If you provide a value that is lower than what a resource can accept, an error
  occurs. In which case, the error message will provide the minimum value that the resource can
  accept." "When you register a new scalable target ... If the specified resource is not active
  in the target service, this operation does not change the resource's current capacity.
  Otherwise, it changes the resource's current capacity to a value that is inside of this
  range." "If you call the RegisterScalableTarget API operation to update an existing scalable
  target, Application Auto Scaling retrieves the current capacity of the resource. If it's below
  the minimum capacity or above the maximum capacity, Application Auto Scaling adjusts the
  capacity of the scalable target to place it within these bounds" (done here for an inference
  component's DesiredCopyCount, by UpdateInferenceComponentRuntimeConfig).
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-add-policy.html
  "--min-capacity—The minimum number of instances. This value must be set to at least 1"; but
https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html
  "Unlike other hosted models Amazon SageMaker AI supports, with Asynchronous Inference you can
  also scale down your asynchronous endpoints instances to zero." So a MinCapacity of 0 for
  DesiredInstanceCount is refused unless the endpoint's config has AsyncInferenceConfig.
https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-sagemaker.html
  Registers "the desired copy count for an inference component ... with a minimum capacity of
  zero copies".
https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-autoscale.html
  "Before you can use autoscaling, you must have already deployed a model to a serverless
  endpoint with Provisioned Concurrency." (It also says "Set --min-capacity to at least 1"; the
  API reference above allows 0, which is followed here.)
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html
  ProvisionedConcurrency: "Should be less than or equal to MaxConcurrency." So a MaxCapacity
  above the variant's MaxConcurrency is refused (this emulator's choice: AWS documents no error).
https://docs.aws.amazon.com/autoscaling/application/userguide/monitoring-cloudwatch.html
  The CloudWatch metric of each predefined metric type (an inference component's with the
  dimension InferenceComponentName, a serverless variant's with EndpointName and VariantName):
    SageMakerInferenceComponentInvocationsPerCopy: InvocationsPerCopy
    SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution: ConcurrentRequestsPerCopy
    SageMakerVariantProvisionedConcurrencyUtilization: ServerlessProvisionedConcurrencyUtilization
  (Their alarms use the statistics of the variant's: Sum for a count, Maximum for concurrency,
  and Average for utilization.)
https://docs.aws.amazon.com/autoscaling/application/userguide/resource-tagging-support.html
  "You can add tags to new scalable targets when you register them, or you can add them to
  existing scalable targets." (tag-resource, list-tags-for-resource, untag-resource)
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TagResource.html
  "Adds or edits tags on an Application Auto Scaling scalable target." An unknown ARN:
  ResourceNotFoundException, "The specified resource doesn't exist."
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html
  "You cannot create a scaling policy until you have registered the resource as a scalable
  target." ObjectNotFoundException: "For any operation that depends on the existence of a
  scalable target, this exception is thrown if the scalable target with the specified service
  namespace, resource ID, and scalable dimension does not exist." A predefined metric that does
  not fit the dimension is refused in AWS's words ("Scalable dimension ... only supports the
  following predefined metric types: ...", quoted in https://github.com/aws/aws-cdk/issues/29065).
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
  "Application Auto Scaling creates and manages the CloudWatch alarms that trigger scaling
  events when the metric deviates from the target."
https://docs.aws.amazon.com/autoscaling/application/userguide/delete-target-tracking-policy.html
  "It also deletes the CloudWatch alarms that Application Auto Scaling created on your behalf."
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeleteScalingPolicy.html
  "Deleting a step scaling policy deletes the underlying alarm action, but does not delete the
  CloudWatch alarm associated with the scaling policy, even if it no longer has an associated
  action."
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html
  "Deregistering a scalable target deletes the scaling policies and the scheduled actions that
  are associated with it."

moto registers a target for any endpoint and variant, or none; ignores Tags and has no
TagResource, UntagResource or ListTagsForResource; accepts policies and scheduled actions for
targets that do not exist; gives an updated policy a new PolicyARN (AWS keeps the policy's
identity, and the alarms that name it); makes no alarms for SageMaker target tracking; leaves a
deleted step policy's ARN in its alarms' actions; and deregisters a target without its policies
and scheduled actions. `forget_endpoint` is what becomes of a deleted endpoint's targets and
`forget_component` of a deleted inference component's (see `components`). Not emulated: bringing
a variant's instance count or provisioned concurrency within the bounds of its target.
"""

import json
import re
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from moto.applicationautoscaling import models, responses
from moto.applicationautoscaling.models import (
    ApplicationAutoscalingBackend,
    FakeApplicationAutoscalingPolicy,
    FakeScalableTarget,
    applicationautoscaling_backends,
)
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.cloudwatch.models import (
    Alarm,
    CloudWatchBackend,
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from . import shared

_INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"
_PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
_COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
_VARIANT = re.compile(r"endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)")
_COMPONENT = re.compile(r"inference-component/(?P<component>[^/]+)")
_PERIOD = 60
# (CloudWatch metric, statistic) behind each predefined metric, by the dimension it scales.
_PREDEFINED = {
    _INSTANCE_COUNT: {
        "SageMakerVariantInvocationsPerInstance": ("InvocationsPerInstance", "Sum"),
        "SageMakerVariantConcurrentRequestsPerModelHighResolution": (
            "ConcurrentRequestsPerModel",
            "Maximum",
        ),
    },
    _PROVISIONED_CONCURRENCY: {
        "SageMakerVariantProvisionedConcurrencyUtilization": (
            "ServerlessProvisionedConcurrencyUtilization",
            "Average",
        ),
    },
    _COPY_COUNT: {
        "SageMakerInferenceComponentInvocationsPerCopy": ("InvocationsPerCopy", "Sum"),
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": (
            "ConcurrentRequestsPerCopy",
            "Maximum",
        ),
    },
}

_tags: dict[str, dict[str, str]] = {}  # by scalable target ARN


def reset() -> None:
    _tags.clear()


def _validation(message: str) -> JsonRESTError:
    return JsonRESTError("ValidationException", message)


def _target_missing(namespace: str, resource_id: str, dimension: str) -> JsonRESTError:
    return JsonRESTError(
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: {namespace}, "
        f"resource ID: {resource_id}, scalable dimension: {dimension}",
    )


def _target(
    backend: ApplicationAutoscalingBackend, namespace: str, resource_id: str, dimension: str
) -> FakeScalableTarget | None:
    target = backend.targets.get(dimension, {}).get(resource_id)
    return target if target is not None and target.service_namespace == namespace else None


def _of(policy_or_action: Any) -> tuple[str, str, str]:
    """The (namespace, resource id, dimension) of the target a policy or action belongs to."""
    x = policy_or_action
    return x.service_namespace, x.resource_id, x.scalable_dimension


def _target_by_arn(backend: ApplicationAutoscalingBackend, arn: str) -> FakeScalableTarget:
    for targets in backend.targets.values():
        for target in targets.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN: {arn}")


def _why_not_scalable(
    sagemaker: SageMakerModelBackend,
    resource_id: str,
    dimension: str,
    low: int | None,
    high: int | None,
) -> str | None:
    """Why SageMaker cannot scale this dimension of this resource within [low, high] now, if it
    cannot."""
    if dimension == _COPY_COUNT:
        named = _COMPONENT.fullmatch(resource_id)
        if named is None:
            return None  # moto's own validation answers for ids of another form
        component = shared.inference_components(sagemaker).get(named["component"])
        if component is None:
            return f"Inference component {named['component']} does not exist."
        if component.status != "InService":
            return (
                f"The status of inference component {component.name} is {component.status}; "
                "it must be InService to be scaled."
            )
        return None
    named = _VARIANT.fullmatch(resource_id)
    if named is None:
        return None  # as above
    name, variant = named["endpoint"], named["variant"]
    endpoint = sagemaker.endpoints.get(name)
    if endpoint is None:
        return f"Endpoint {name} does not exist."
    if endpoint.endpoint_status != "InService":
        return (
            f"The status of endpoint {name} is {endpoint.endpoint_status}; "
            "it must be InService to be scaled."
        )
    found = next((v for v in endpoint.production_variants if v["VariantName"] == variant), None)
    if found is None:
        return f"Endpoint {name} has no production variant {variant}."
    serverless = found.get("CurrentServerlessConfig")
    if dimension == _INSTANCE_COUNT:
        if serverless is not None:
            return (
                f"Variant {variant} of endpoint {name} is serverless: scale it with the "
                f"scalable dimension {_PROVISIONED_CONCURRENCY}."
            )
        if low == 0 and getattr(endpoint, "async_inference_config", None) is None:
            return (
                f"The minimum capacity of real-time endpoint {name}'s variant {variant} is 1: "
                "only an asynchronous endpoint's variants scale in to 0 instances."
            )
        return None
    if "ProvisionedConcurrency" not in (serverless or {}):
        return f"Variant {variant} of endpoint {name} has no provisioned concurrency to scale."
    if high is not None and high > serverless["MaxConcurrency"]:
        return (
            f"The maximum capacity {high} is above the MaxConcurrency of variant {variant} of "
            f"endpoint {name}, {serverless['MaxConcurrency']}."
        )
    return None


def _bring_within_bounds(sagemaker: SageMakerModelBackend, target: FakeScalableTarget) -> None:
    """What RegisterScalableTarget does to a component whose copies are outside its bounds."""
    name = target.resource_id.split("/", 1)[1]
    desired = shared.inference_components(sagemaker)[name].desired
    bounded = min(max(desired, target.min_capacity), target.max_capacity)
    if bounded != desired:
        sagemaker.update_inference_component_runtime_config(name, bounded)


def _forget(account: str, region: str, gone: Callable[[str], bool]) -> None:
    """Deregisters every SageMaker target whose resource id is `gone`."""
    backend = applicationautoscaling_backends[account][region]
    doomed = [
        t
        for targets in backend.targets.values()
        for t in targets.values()
        if t.service_namespace == "sagemaker" and gone(t.resource_id)
    ]
    for t in doomed:
        backend.deregister_scalable_target(t.service_namespace, t.resource_id, t.scalable_dimension)


def forget_endpoint(account: str, region: str, endpoint: str) -> None:
    """Deregisters every target of the variants of `endpoint`, which is gone."""
    _forget(account, region, lambda r: r.startswith(f"endpoint/{endpoint}/variant/"))


def forget_component(account: str, region: str, component: str) -> None:
    """Deregisters the target of inference component `component`, which is gone."""
    _forget(account, region, lambda r: r == f"inference-component/{component}")


# --- alarms of target tracking policies -----------------------------------------------------------


def _tracks(policy: FakeApplicationAutoscalingPolicy) -> bool:
    """Whether `policy` is the target tracking of a SageMaker variant or inference component."""
    return (
        policy.service_namespace == "sagemaker"
        and policy.policy_type == "TargetTrackingScaling"
        and any(r.fullmatch(policy.resource_id) for r in (_VARIANT, _COMPONENT))
    )


def _dimensions(resource_id: str) -> list[dict[str, str]]:
    """The CloudWatch dimensions of the predefined metrics of a variant or inference component."""
    named = _VARIANT.fullmatch(resource_id)
    if named is not None:
        return [
            {"Name": "EndpointName", "Value": named["endpoint"]},
            {"Name": "VariantName", "Value": named["variant"]},
        ]
    return [{"Name": "InferenceComponentName", "Value": resource_id.split("/", 1)[1]}]


def _metric(policy: FakeApplicationAutoscalingPolicy) -> dict[str, Any]:
    """The keyword arguments of `put_metric_alarm` that name the metric the policy tracks."""
    config = policy.target_tracking_scaling_policy_configuration or {}
    if "PredefinedMetricSpecification" in config:
        kind = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        metric_name, statistic = _PREDEFINED[policy.scalable_dimension][kind]
        return {
            "namespace": "AWS/SageMaker",
            "metric_name": metric_name,
            "statistic": statistic,
            "period": _PERIOD,
            "dimensions": _dimensions(policy.resource_id),
        }
    custom = config.get("CustomizedMetricSpecification") or {}
    if "Metrics" in custom:
        return {
            "namespace": None,
            "metric_name": None,
            "statistic": None,
            "period": None,
            "dimensions": [],
            "metric_data_queries": [_query(q) for q in custom["Metrics"]],
        }
    return {
        "namespace": custom.get("Namespace"),
        "metric_name": custom.get("MetricName"),
        "statistic": custom.get("Statistic"),
        "period": _PERIOD,
        "dimensions": custom.get("Dimensions") or [],
        "unit": custom.get("Unit"),
    }


def _query(q: dict[str, Any]) -> MetricDataQuery:
    stat = q.get("MetricStat")
    metric_stat = None
    if stat is not None:
        metric = stat["Metric"]
        metric_stat = MetricStat(
            metric=Metric(
                metric_name=metric["MetricName"],
                namespace=metric["Namespace"],
                dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])],
            ),
            period=_PERIOD,
            stat=stat["Stat"],
            unit=stat.get("Unit"),
        )
    return MetricDataQuery(
        query_id=q["Id"],
        label=q.get("Label"),
        period=None,
        return_data=q.get("ReturnData", True),
        expression=q.get("Expression"),
        metric_stat=metric_stat,
    )


def _check_predefined(dimension: str, policy_body: dict[str, Any] | None) -> None:
    """Refuses, before anything is stored, a predefined metric that has no alarms here."""
    kind = (policy_body or {}).get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    supported = _PREDEFINED.get(dimension, {})
    if kind is not None and kind not in supported:
        raise _validation(
            f"Scalable dimension {dimension} only supports the following predefined metric "
            f"types: {', '.join(supported)}"
        )


def _alarm_name(policy: FakeApplicationAutoscalingPolicy, side: str, old: list[Alarm]) -> str:
    """The name of the policy's alarm on `side` (High, Low): the one it had, else a new one."""
    prefix = f"TargetTracking-{policy.resource_id}-Alarm{side}-"
    kept = next((a.name for a in old if a.name.startswith(prefix)), None)
    return kept or f"{prefix}{uuid.uuid4()}"


def _track(policy: FakeApplicationAutoscalingPolicy, old: list[Alarm]) -> None:
    """Gives a target tracking policy its alarms, keeping the names of those it had."""
    cloudwatch: CloudWatchBackend = cloudwatch_backends[policy.account_id][policy.region_name]
    config = policy.target_tracking_scaling_policy_configuration or {}
    target = float(config["TargetValue"])
    sides = [("High", "GreaterThanThreshold", target, 3)]
    if not config.get("DisableScaleIn"):
        # Rounded: 0.9 × 0.1 is 0.09 here, not 0.09000000000000001.
        sides.append(("Low", "LessThanThreshold", round(0.9 * target, 10), 15))
    metric = _metric(policy)
    policy.alarms = [
        cloudwatch.put_metric_alarm(
            name=_alarm_name(policy, side, old),
            comparison_operator=operator,
            evaluation_periods=periods,
            threshold=threshold,
            description=(
                f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.policy_arn}."
            ),
            alarm_actions=[policy.policy_arn],
            **metric,
        )
        for side, operator, threshold, periods in sides
    ]
    names = {a.name for a in policy.alarms}
    cloudwatch.delete_alarms([a.name for a in old if a.name not in names])


def _untrack(account: str, region: str, alarms: list[Alarm]) -> None:
    cloudwatch_backends[account][region].delete_alarms([a.name for a in alarms])


def _strip_actions(account: str, region: str, policy_arn: str) -> None:
    for alarm in cloudwatch_backends[account][region].alarms.values():
        for actions in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            setattr(alarm, actions, [a for a in getattr(alarm, actions) or [] if a != policy_arn])


# --- Tag operations, which moto lacks -------------------------------------------------------------


def tag_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    _tags.setdefault(target.arn, {}).update(self._get_param("Tags") or {})
    return json.dumps({})


def untag_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    tags = _tags.get(target.arn, {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return json.dumps({})


def list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    return json.dumps({"Tags": _tags.get(target.arn, {})})


def install() -> None:
    register = ApplicationAutoScalingResponse.register_scalable_target
    put_policy = ApplicationAutoscalingBackend.put_scaling_policy
    delete_policy = ApplicationAutoscalingBackend.delete_scaling_policy
    put_action = ApplicationAutoscalingBackend.put_scheduled_action
    deregister = ApplicationAutoscalingBackend.deregister_scalable_target

    def register_if_scalable(self: ApplicationAutoScalingResponse) -> str:
        namespace = self._get_param("ServiceNamespace")
        resource_id = self._get_param("ResourceId")
        dimension = self._get_param("ScalableDimension")
        backend = self.applicationautoscaling_backend
        sagemaker = sagemaker_backends[self.current_account][self.region]
        old = _target(backend, namespace, resource_id, dimension)
        # The dimensions SageMaker scales are those with predefined metrics.
        if namespace == "sagemaker" and dimension in _PREDEFINED:
            low, high = self._get_int_param("MinCapacity"), self._get_int_param("MaxCapacity")
            if old is not None:  # an update keeps the bounds it does not give
                low = old.min_capacity if low is None else low
                high = old.max_capacity if high is None else high
            why = _why_not_scalable(sagemaker, resource_id, dimension, low, high)
            if why is not None:
                raise _validation(f"Resource Id {resource_id} is not scalable. Reason: {why}")
        answer = register(self)
        if old is None and self._get_param("Tags"):
            _tags[json.loads(answer)["ScalableTargetARN"]] = dict(self._get_param("Tags"))
        if namespace == "sagemaker" and dimension == _COPY_COUNT:
            target = _target(backend, namespace, resource_id, dimension)
            assert target is not None  # just registered
            _bring_within_bounds(sagemaker, target)
        return answer

    def put_policy_of_a_target(
        self: ApplicationAutoscalingBackend,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        policy_body: dict[str, Any],
        policy_type: str | None,
    ) -> FakeApplicationAutoscalingPolicy:
        if _target(self, service_namespace, resource_id, scalable_dimension) is None:
            raise _target_missing(service_namespace, resource_id, scalable_dimension)
        if service_namespace == "sagemaker":
            _check_predefined(scalable_dimension, policy_body)
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        old = self.policies.get(key)
        policy = put_policy(
            self,
            policy_name,
            service_namespace,
            resource_id,
            scalable_dimension,
            policy_body,
            policy_type,
        )
        if old is not None:
            policy.policy_arn, policy._guid = old.policy_arn, old._guid
            policy.creation_time = old.creation_time
        if service_namespace == "sagemaker":
            previous = old.alarms if old is not None else []
            if _tracks(policy):
                _track(policy, previous)
            else:
                _untrack(self.account_id, self.region_name, previous)
        return policy

    def delete_policy_and_its_actions(
        self: ApplicationAutoscalingBackend,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
    ) -> None:
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        policy = self.policies.get(key)
        delete_policy(self, policy_name, service_namespace, resource_id, scalable_dimension)
        if policy is not None and policy.policy_type == "StepScaling":
            _strip_actions(self.account_id, self.region_name, policy.policy_arn)

    def put_action_of_a_target(self: ApplicationAutoscalingBackend, **action: Any) -> None:
        namespace, resource_id, dimension = (
            action["service_namespace"],
            action["resource_id"],
            action["scalable_dimension"],
        )
        if _target(self, namespace, resource_id, dimension) is None:
            raise _target_missing(namespace, resource_id, dimension)
        put_action(self, **action)

    def deregister_with_everything(
        self: ApplicationAutoscalingBackend, namespace: str, r_id: str, dimension: str
    ) -> None:
        target = _target(self, namespace, r_id, dimension)
        if target is not None:
            its = (namespace, r_id, dimension)
            for p in [p for p in self.policies.values() if _of(p) == its]:
                self.delete_scaling_policy(p.policy_name, namespace, r_id, dimension)
            self.scheduled_actions = [a for a in self.scheduled_actions if _of(a) != its]
            _tags.pop(target.arn, None)
        deregister(self, namespace, r_id, dimension)

    # moto validates dimensions against its own list of them, which lacks two of SageMaker's.
    known = {d.name: d.value for d in models.ScalableDimensionValueSet}
    known["SAGEMAKER_VARIANT_DESIRED_PROVISIONED_CONCURRENCY"] = _PROVISIONED_CONCURRENCY
    known["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = _COPY_COUNT
    dimensions = Enum("ScalableDimensionValueSet", known)  # type: ignore[misc]
    models.ScalableDimensionValueSet = responses.ScalableDimensionValueSet = dimensions
    ApplicationAutoScalingResponse.register_scalable_target = register_if_scalable
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
    ApplicationAutoscalingBackend.put_scaling_policy = put_policy_of_a_target
    ApplicationAutoscalingBackend.delete_scaling_policy = delete_policy_and_its_actions
    ApplicationAutoscalingBackend.put_scheduled_action = put_action_of_a_target
    ApplicationAutoscalingBackend.deregister_scalable_target = deregister_with_everything
