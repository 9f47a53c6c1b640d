"""Application Auto Scaling of SageMaker variants: targets, tags, policies and their alarms.

https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
  "Registers or updates a scalable target, which is the resource that you want to scale." Its
  only documented refusal is ValidationException ("An exception was thrown for a validation
  issue."), which for a SageMaker variant it cannot scale reads "Resource Id
  endpoint/E/variant/V is not scalable. Reason: ...". Refusing a missing endpoint or variant, an
  endpoint that is not InService, and a serverless variant's DesiredInstanceCount is
  deliberately strict: the reasons are this emulator's words.
  Tags: "Use this parameter to tag the scalable target when it is created. To tag an existing
  scalable target, use the TagResource operation."
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
and scheduled actions. `forget_endpoint` is what becomes of a deleted endpoint's targets.
"""

import json
import re
import uuid
from typing import Any

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
from moto.sagemaker.models import sagemaker_backends

_INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"
_PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
_VARIANT = re.compile(r"endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)")
_PERIOD = 60
# (CloudWatch metric, statistic) behind each predefined metric of a SageMaker variant.
_PREDEFINED = {
    "SageMakerVariantInvocationsPerInstance": ("InvocationsPerInstance", "Sum"),
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": (
        "ConcurrentRequestsPerModel",
        "Maximum",
    ),
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


def _why_not_scalable(account: str, region: str, resource_id: str) -> str | None:
    """Why SageMaker cannot scale the instances of this variant now, if it cannot."""
    named = _VARIANT.fullmatch(resource_id)
    if named is None:
        return None  # moto's own validation answers for ids of another form
    name, variant = named["endpoint"], named["variant"]
    endpoint = sagemaker_backends[account][region].endpoints.get(name)
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
    if "CurrentServerlessConfig" in found:
        return (
            f"Variant {variant} of endpoint {name} is serverless: scale it with the "
            f"scalable dimension {_PROVISIONED_CONCURRENCY}."
        )
    return None


def forget_endpoint(account: str, region: str, endpoint: str) -> None:
    """Deregisters every target of the variants of `endpoint`, which is gone."""
    backend = applicationautoscaling_backends[account][region]
    prefix = f"endpoint/{endpoint}/variant/"
    doomed = [
        t
        for targets in backend.targets.values()
        for t in targets.values()
        if t.service_namespace == "sagemaker" and t.resource_id.startswith(prefix)
    ]
    for t in doomed:
        backend.deregister_scalable_target(t.service_namespace, t.resource_id, t.scalable_dimension)


# --- alarms of target tracking policies -----------------------------------------------------------


def _tracks_variant(policy: FakeApplicationAutoscalingPolicy) -> bool:
    return (
        policy.service_namespace == "sagemaker"
        and policy.policy_type == "TargetTrackingScaling"
        and _VARIANT.fullmatch(policy.resource_id) is not None
    )


def _metric(policy: FakeApplicationAutoscalingPolicy) -> dict[str, Any]:
    """The keyword arguments of `put_metric_alarm` that name the metric the policy tracks."""
    config = policy.target_tracking_scaling_policy_configuration or {}
    if "PredefinedMetricSpecification" in config:
        kind = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        metric_name, statistic = _PREDEFINED[kind]
        named = _VARIANT.fullmatch(policy.resource_id)
        assert named is not None  # only a variant's policies come here (`_tracks_variant`)
        return {
            "namespace": "AWS/SageMaker",
            "metric_name": metric_name,
            "statistic": statistic,
            "period": _PERIOD,
            "dimensions": [
                {"Name": "EndpointName", "Value": named["endpoint"]},
                {"Name": "VariantName", "Value": named["variant"]},
            ],
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
    if kind is not None and kind not in _PREDEFINED:
        raise _validation(
            f"Scalable dimension {dimension} only supports the following predefined metric "
            f"types: {', '.join(_PREDEFINED)}"
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
        if namespace == "sagemaker" and dimension == _INSTANCE_COUNT:
            why = _why_not_scalable(self.current_account, self.region, resource_id)
            if why is not None:
                raise _validation(f"Resource Id {resource_id} is not scalable. Reason: {why}")
        backend = self.applicationautoscaling_backend
        new = _target(backend, namespace, resource_id, dimension) is None
        answer = register(self)
        if new and self._get_param("Tags"):
            _tags[json.loads(answer)["ScalableTargetARN"]] = dict(self._get_param("Tags"))
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
            if _tracks_variant(policy):
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

    ApplicationAutoScalingResponse.register_scalable_target = register_if_scalable
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
    ApplicationAutoscalingBackend.put_scaling_policy = put_policy_of_a_target
    ApplicationAutoscalingBackend.delete_scaling_policy = delete_policy_and_its_actions
    ApplicationAutoscalingBackend.put_scheduled_action = put_action_of_a_target
    ApplicationAutoscalingBackend.deregister_scalable_target = deregister_with_everything
