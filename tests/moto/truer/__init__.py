"""moto, made truer: patches that make moto server answer as AWS does where moto is kinder.

Each module emulates one AWS behaviour and cites the AWS documentation for it:

  search           SageMaker Search: tag presence filters, `Or`, pages
  alarms           CloudWatch DescribeAlarms by a prefix of any action
  endpoints        the endpoint lifecycle (Creating, Updating, Deleting take time; Failed) and
                   its EventBridge events
  components       SageMaker inference components: lifecycle, copies, paging, tags, and the
                   instances of a variant with managed instance scaling
  definitions      EndpointConfigs and Models kept and described whole
  tags             SageMaker AddTags / ListTags / DeleteTags on what exists, and only that
  endpoint_policy  PutEndpointPolicy / GetEndpointPolicy / DeleteEndpointPolicy
  autoscaling      Application Auto Scaling of SageMaker variants and inference components:
                   targets, bounds, tags, policies, the alarms of target tracking
  metrics          GetMetricData results that are not Complete
  sts              AssumeRole only of a role that exists, by a caller its trust policy admits
  control          the control API (timing, capacity, metric status, pending, events, reset)
  cbor             CloudWatch in Smithy RPC v2 CBOR, the protocol of the current Rust SDK
  shared           the lock, the delays and the walk over every account's backends they share

Remove a patch once moto does what it does.
"""

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.cloudwatch.responses import CloudWatchResponse
from moto.sagemaker.responses import SageMakerResponse

from . import (
    alarms,
    autoscaling,
    cbor,
    components,
    control,
    definitions,
    endpoint_policy,
    endpoints,
    metrics,
    search,
    shared,
    sts,
    tags,
)


def install() -> None:
    for module in (
        search,
        alarms,
        endpoints,
        definitions,
        tags,
        endpoint_policy,
        autoscaling,
        components,
        metrics,
        sts,
        control,
        cbor,
    ):
        module.install()
    # The services a finishing transition changes are the ones whose requests it must not
    # interleave with.
    for response_class in (SageMakerResponse, ApplicationAutoScalingResponse, CloudWatchResponse):
        shared.under_lock(response_class)
