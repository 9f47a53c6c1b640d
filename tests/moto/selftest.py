"""Checks that tests/moto/server.py answers as AWS does, one line per behaviour.

    .venv/bin/python tests/moto/selftest.py

Starts the server on a free loopback port, talks to it with boto3 (and, for CloudWatch's RPC v2
CBOR, with botocore's own code for that protocol), and stops at the first behaviour that is not as AWS documents it,
exiting non-zero. Each behaviour and its source are described in tests/moto/truer/.
"""

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COPIES = "sagemaker:inference-component:DesiredCopyCount"
CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
DELAY = 0.2  # seconds each transition takes in the timed checks
PAUSE = DELAY + 0.15  # long enough for one to be done

os.environ.update(
    AWS_ACCESS_KEY_ID="test",
    AWS_SECRET_ACCESS_KEY="test",
    AWS_SESSION_TOKEN="test",
    AWS_DEFAULT_REGION=REGION,
)


def ok(behaviour: str) -> None:
    print(f"ok  {behaviour}", flush=True)


class Server:
    """server.py on a free loopback port, for the length of a `with`."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-selftest-", suffix=".log", delete=False)

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"server.py exited; see {self.log.name}"
            try:
                self.control("GET", "pending")
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"server.py did not answer within 30 s; see {self.log.name}")

    def __exit__(self, failure: type[BaseException] | None, *_: Any) -> None:
        self.process.kill()
        self.process.wait()
        if failure is None:
            os.unlink(self.log.name)  # kept when a check fails, for the server's side of it
        else:
            print(f"server log: {self.log.name}", file=sys.stderr)

    def http(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        status, answer = self.http(method, f"/_sagetide/{path}", data if method == "POST" else None)
        assert status == 200, f"{method} /_sagetide/{path} answered {status}: {answer!r}"
        return json.loads(answer)

    def events(self) -> list[dict[str, Any]]:
        return self.control("POST", "events/take")["events"]

    def statuses(self, endpoint: str) -> list[str]:
        """The statuses of the queued events of `endpoint` (the queue is emptied)."""
        return [
            e["detail"]["EndpointStatus"]
            for e in self.events()
            if e["detail"]["EndpointName"] == endpoint
        ]

    def timing(self, seconds: float) -> None:
        self.control(
            "POST", "timing", {"creating": seconds, "deleting": seconds, "updating": seconds}
        )

    def reset(self) -> None:
        status, answer = self.http("POST", "/moto-api/reset", b"")
        assert status == 200, f"reset answered {status}: {answer!r}"


def refused(call: Callable[..., Any], code: str, message: str | None = None, **kwargs: Any) -> str:
    """Calls `call`, which must fail with `code` (and `message` in its message); the message."""
    try:
        call(**kwargs)
    except ClientError as e:
        error = e.response["Error"]
        assert error["Code"] == code, f"{call.__name__}: expected {code}, got {error}"
        assert (
            message is None or message in error["Message"]
        ), f"{call.__name__}: expected a message with {message!r}, got {error['Message']!r}"
        return error["Message"]
    raise AssertionError(f"{call.__name__}({kwargs}) should have been refused with {code}")


class Aws:
    """boto3 clients of one account and region, and the calls the checks build fleets with."""

    def __init__(self, server: Server, region: str = REGION, account: str | None = None) -> None:
        def client(service: str) -> Any:
            c = boto3.client(service, endpoint_url=server.url, region_name=region)
            if account is not None:
                c.meta.events.register(
                    "before-sign",
                    lambda request, **_: request.headers.add_header("x-moto-account-id", account),
                )
            return c

        self.sm = client("sagemaker")
        self.aas = client("application-autoscaling")
        self.cw = client("cloudwatch")

    def model(self, name: str, **extra: Any) -> None:
        self.sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "image:1"}, **extra
        )

    def config(self, name: str, model: str, instance: str = "ml.m5.large", **extra: Any) -> None:
        self.sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "main",
                    "ModelName": model,
                    "InstanceType": instance,
                    "InitialInstanceCount": 1,
                }
            ],
            **extra,
        )

    def fleet(
        self, name: str, instance: str = "ml.m5.large", tags: dict[str, str] | None = None
    ) -> str:
        """Model, config and endpoint `name`; the endpoint's ARN."""
        self.model(name)
        self.config(name, name, instance)
        return self.sm.create_endpoint(
            EndpointName=name,
            EndpointConfigName=name,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )["EndpointArn"]

    def status(self, name: str) -> str:
        return self.sm.describe_endpoint(EndpointName=name)["EndpointStatus"]

    def variants(self, name: str) -> dict[str, dict[str, Any]]:
        found = self.sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
        return {v["VariantName"]: v for v in found}

    def register(self, endpoint: str, variant: str = "main", **extra: Any) -> str:
        return self.aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/{endpoint}/variant/{variant}",
            ScalableDimension=DIMENSION,
            MinCapacity=1,
            MaxCapacity=4,
            **extra,
        )["ScalableTargetARN"]

    def tracking(self, endpoint: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
        return self.aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/{endpoint}/variant/main",
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=config,
        )

    def step(self, endpoint: str, name: str) -> str:
        return self.aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/{endpoint}/variant/main",
            ScalableDimension=DIMENSION,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            },
        )["PolicyARN"]

    def scheduled(self, endpoint: str, name: str) -> None:
        self.aas.put_scheduled_action(
            ServiceNamespace="sagemaker",
            ScheduledActionName=name,
            ResourceId=f"endpoint/{endpoint}/variant/main",
            ScalableDimension=DIMENSION,
            Schedule="cron(0 8 * * ? *)",
            ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 4},
        )

    def policies(self, endpoint: str) -> list[dict[str, Any]]:
        return self.aas.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{endpoint}/variant/main"
        )["ScalingPolicies"]

    def actions(self, endpoint: str) -> list[dict[str, Any]]:
        return self.aas.describe_scheduled_actions(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{endpoint}/variant/main"
        )["ScheduledActions"]

    def targets(self, endpoint: str) -> list[dict[str, Any]]:
        return self.aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/main"]
        )["ScalableTargets"]

    def alarm(
        self,
        name: str,
        threshold: float = 100.0,
        comparison: str = "GreaterThanThreshold",
        **actions: list[str],
    ) -> None:
        """An Invocations alarm on the given action lists (AlarmActions=[...], OKActions=[...])."""
        self.cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=threshold,
            ComparisonOperator=comparison,
            **actions,
        )

    def alarms(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        found = (
            self.cw.describe_alarms(AlarmNamePrefix=prefix) if prefix else self.cw.describe_alarms()
        )
        return {a["AlarmName"]: a for a in found["MetricAlarms"]}

    def components_endpoint(self, name: str, high: int = 2) -> None:
        """Config and endpoint `name` for inference components: variant "main" names no model,
        and SageMaker manages its instances, from 0 to `high`."""
        self.sm.create_endpoint_config(
            EndpointConfigName=name,
            ExecutionRoleArn=ROLE,
            ProductionVariants=[
                {
                    "VariantName": "main",
                    "InstanceType": "ml.g4dn.xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {
                        "Status": "ENABLED",
                        "MinInstanceCount": 0,
                        "MaxInstanceCount": high,
                    },
                    "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                }
            ],
        )
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)

    def component(
        self,
        name: str,
        endpoint: str,
        copies: int = 1,
        model: str = "ic-model",
        variant: str = "main",
        **extra: Any,
    ) -> str:
        """Inference component `name` of `model` on `endpoint`; its ARN."""
        return self.sm.create_inference_component(
            InferenceComponentName=name,
            EndpointName=endpoint,
            VariantName=variant,
            Specification={
                "ModelName": model,
                "ComputeResourceRequirements": {
                    "MinMemoryRequiredInMb": 1024,
                    "NumberOfAcceleratorDevicesRequired": 1,
                },
            },
            RuntimeConfig={"CopyCount": copies},
            **extra,
        )["InferenceComponentArn"]

    def copies(self, name: str) -> tuple[str, int, int]:
        """The component's status, desired and current copy counts."""
        found = self.sm.describe_inference_component(InferenceComponentName=name)
        runtime = found["RuntimeConfig"]
        status = found["InferenceComponentStatus"]
        return status, runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]

    def scale(self, resource_id: str, dimension: str, low: int, high: int, **extra: Any) -> str:
        """RegisterScalableTarget of any SageMaker resource id and dimension; the target's ARN."""
        return self.aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=low,
            MaxCapacity=high,
            **extra,
        )["ScalableTargetARN"]


# --- the existing fixes ---------------------------------------------------------------------------


def search_fixes(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.fleet("s-a", tags={"sagetide:schedule": "office", "team": "x"})
    aws.fleet("s-b", tags={"team": "y"})
    aws.fleet("s-c")

    def names(expression: dict[str, Any]) -> list[str]:
        found = aws.sm.search(Resource="Endpoint", SearchExpression=expression)["Results"]
        return sorted(r["Endpoint"]["EndpointName"] for r in found)

    exists = {"Name": "Tags.sagetide:schedule", "Operator": "Exists"}
    assert names({"Filters": [exists]}) == ["s-a"], "Search Tags.<key> Exists"
    missing = {"Name": "Tags.sagetide:schedule", "Operator": "NotExists"}
    assert names({"Filters": [missing]}) == ["s-b", "s-c"], "Search Tags.<key> NotExists"
    either = {"Filters": [exists, {"Name": "Tags.team", "Operator": "Exists"}], "Operator": "Or"}
    assert names(either) == ["s-a", "s-b"], "Search with Operator Or"
    ok("Search: Tags.<key> Exists / NotExists filters, Operator Or (unchanged)")

    pages, token = [], None
    while True:
        page = aws.sm.search(
            Resource="Endpoint", MaxResults=2, **({"NextToken": token} if token else {})
        )
        pages.append([r["Endpoint"]["EndpointName"] for r in page["Results"]])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 1], f"Search pages of MaxResults 2: {pages}"
    assert sorted(sum(pages, [])) == ["s-a", "s-b", "s-c"], f"every endpoint once: {pages}"
    found = aws.sm.search(Resource="Endpoint", SearchExpression={"Filters": [exists]})
    record = found["Results"][0]
    assert record["Endpoint"]["EndpointArn"].endswith(":endpoint/s-a"), f"Search record: {record}"
    ok("Search: pages of MaxResults with NextToken (unchanged)")

    refused(
        aws.sm.create_endpoint,
        "ValidationException",
        f'Cannot create already existing endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/s-a".',
        EndpointName="s-a",
        EndpointConfigName="s-b",
    )
    assert aws.sm.describe_endpoint(EndpointName="s-a")["EndpointConfigName"] == "s-a"
    ok("CreateEndpoint of an existing name is refused (unchanged)")


# --- A. lifecycle ---------------------------------------------------------------------------------


def creating(server: Server, aws: Aws) -> None:
    server.events()
    server.timing(DELAY)
    arn = aws.fleet("life", tags={"owner": "tests"})
    assert aws.status("life") == "Creating", "a new endpoint is Creating"
    listed = {e["EndpointName"]: e["EndpointStatus"] for e in aws.sm.list_endpoints()["Endpoints"]}
    assert listed["life"] == "Creating", f"ListEndpoints: {listed}"
    found = aws.sm.search(
        Resource="Endpoint",
        SearchExpression={
            "Filters": [{"Name": "EndpointName", "Operator": "Equals", "Value": "life"}]
        },
    )["Results"]
    assert [r["Endpoint"]["EndpointStatus"] for r in found] == ["Creating"], f"Search: {found}"
    pending = server.control("GET", "pending")["pending"]
    assert [(p["account"], p["region"], p["endpoint"], p["status"]) for p in pending] == [
        (ACCOUNT, REGION, "life", "Creating")
    ], f"pending: {pending}"
    assert 0 < pending[0]["due_in"] <= DELAY, f"due_in: {pending}"
    ok("CreateEndpoint: Creating in DescribeEndpoint, ListEndpoints, Search and /_sagetide/pending")

    in_progress = f'Cannot update in-progress endpoint "{arn}".'
    refused(aws.sm.delete_endpoint, "ValidationException", in_progress, EndpointName="life")
    refused(
        aws.sm.update_endpoint_weights_and_capacities,
        "ValidationException",
        in_progress,
        EndpointName="life",
        DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 2}],
    )
    ok("DeleteEndpoint and UpdateEndpointWeightsAndCapacities refused while Creating")

    time.sleep(PAUSE)
    assert aws.status("life") == "InService", "Creating becomes InService after the delay"
    events = server.events()
    assert [e["detail"]["EndpointStatus"] for e in events] == ["CREATING", "IN_SERVICE"], events
    for e in events:
        assert set(e) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }, e
        assert (e["version"], e["detail-type"], e["source"]) == (
            "0",
            "SageMaker Endpoint State Change",
            "aws.sagemaker",
        ), e
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", e["id"]
        ), e["id"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]), e["time"]
        age = datetime.now(timezone.utc) - datetime.strptime(
            e["time"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=timezone.utc)
        assert abs(age) < timedelta(seconds=30), f"event time on the real clock: {e['time']}"
        assert (e["account"], e["region"], e["resources"]) == (ACCOUNT, REGION, [arn]), e
        d = e["detail"]
        assert set(d) == {
            "EndpointName",
            "EndpointArn",
            "EndpointConfigName",
            "EndpointStatus",
            "CreationTime",
            "LastModifiedTime",
            "Tags",
        }, d
        assert (d["EndpointName"], d["EndpointArn"], d["EndpointConfigName"], d["Tags"]) == (
            "life",
            arn,
            "life",
            {"owner": "tests"},
        ), d
        assert (
            isinstance(d["CreationTime"], float) and d["CreationTime"] <= d["LastModifiedTime"]
        ), d
    assert events[1]["detail"]["LastModifiedTime"] > events[0]["detail"]["LastModifiedTime"], events
    ok(
        "Creating -> InService after the delay, with CREATING and IN_SERVICE events in EventBridge's shape"
    )


def failing(server: Server, aws: Aws) -> None:
    server.timing(DELAY)
    aws.fleet("lost-model")
    aws.sm.delete_model(ModelName="lost-model")
    time.sleep(PAUSE)
    found = aws.sm.describe_endpoint(EndpointName="lost-model")
    assert found["EndpointStatus"] == "Failed", found
    expected = f'Could not find model "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/lost-model".'
    assert found["FailureReason"] == expected, found["FailureReason"]
    events = server.events()
    assert [e["detail"]["EndpointStatus"] for e in events] == ["CREATING", "FAILED"], events
    assert "FailureReason" not in events[1]["detail"], events[1]
    ok("a model deleted while Creating: Failed, FailureReason names the model, FAILED event")

    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/lost-model"
    refused(
        aws.sm.update_endpoint_weights_and_capacities,
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
        EndpointName="lost-model",
        DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 2}],
    )
    aws.sm.delete_endpoint(EndpointName="lost-model")
    assert aws.status("lost-model") == "Deleting"
    time.sleep(PAUSE)
    refused(
        aws.sm.describe_endpoint,
        "ValidationException",
        "Could not find endpoint",
        EndpointName="lost-model",
    )
    assert server.statuses("lost-model") == ["DELETING"]
    ok("a Failed endpoint: no update, DeleteEndpoint allowed")

    unavailable = server.control(
        "POST", "capacity", {"instance_type": "ml.g4dn.xlarge", "available": False}
    )
    assert unavailable == {"unavailable": ["ml.g4dn.xlarge"]}, unavailable
    aws.fleet("no-gpu", instance="ml.g4dn.xlarge")
    time.sleep(PAUSE)
    found = aws.sm.describe_endpoint(EndpointName="no-gpu")
    assert found["EndpointStatus"] == "Failed", found
    assert found["FailureReason"] == (
        "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error. "
        "Please retry using a different ML instance type or after some time."
    ), found["FailureReason"]
    assert server.statuses("no-gpu") == ["CREATING", "FAILED"]
    server.control("POST", "capacity", {"instance_type": "ml.g4dn.xlarge", "available": True})
    aws.fleet("gpu", instance="ml.g4dn.xlarge")
    time.sleep(PAUSE)
    assert aws.status("gpu") == "InService", "capacity restored"
    server.events()
    ok(
        "an instance type without capacity: Failed with InsufficientInstanceCapacity; restored, InService"
    )


def updating(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.model("two")
    aws.sm.create_endpoint_config(
        EndpointConfigName="two",
        ProductionVariants=[
            {
                "VariantName": "a",
                "ModelName": "two",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            },
            {
                "VariantName": "b",
                "ModelName": "two",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 3.0,
            },
        ],
    )
    arn = aws.sm.create_endpoint(EndpointName="two", EndpointConfigName="two")["EndpointArn"]
    assert aws.status("two") == "InService", "instant mode: InService at the next request"
    assert server.statuses("two") == ["CREATING", "IN_SERVICE"]
    ok("instant mode (delays 0): a transition happens at the next request, with its events")

    server.timing(DELAY)
    aws.sm.update_endpoint_weights_and_capacities(
        EndpointName="two",
        DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredInstanceCount": 3},
            {"VariantName": "b", "DesiredWeight": 5.0},
        ],
    )
    found = aws.sm.describe_endpoint(EndpointName="two")
    assert found["EndpointStatus"] == "Updating", found
    v = {x["VariantName"]: x for x in found["ProductionVariants"]}
    assert (v["a"]["DesiredInstanceCount"], v["a"]["CurrentInstanceCount"]) == (3, 1), v["a"]
    assert (v["a"]["DesiredWeight"], v["a"]["CurrentWeight"]) == (
        1.0,
        1.0,
    ), f"omitted weight kept: {v['a']}"
    assert (v["b"]["DesiredWeight"], v["b"]["CurrentWeight"]) == (5.0, 3.0), v["b"]
    assert (v["b"]["DesiredInstanceCount"], v["b"]["CurrentInstanceCount"]) == (
        2,
        2,
    ), f"omitted count kept: {v['b']}"
    refused(
        aws.sm.update_endpoint_weights_and_capacities,
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
        EndpointName="two",
        DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredInstanceCount": 1}],
    )
    refused(
        aws.sm.delete_endpoint,
        "ValidationException",
        "Cannot update in-progress endpoint",
        EndpointName="two",
    )
    time.sleep(PAUSE)
    v = aws.variants("two")
    assert aws.status("two") == "InService"
    assert (v["a"]["CurrentInstanceCount"], v["a"]["CurrentWeight"]) == (3, 1.0), v["a"]
    assert (v["b"]["CurrentInstanceCount"], v["b"]["CurrentWeight"]) == (2, 5.0), v["b"]
    assert server.statuses("two") == ["UPDATING", "IN_SERVICE"]
    ok(
        "UpdateEndpointWeightsAndCapacities: Updating, Desired* now, Current* when done, omitted kept"
    )

    server.timing(0)
    aws.sm.update_endpoint_weights_and_capacities(
        EndpointName="two", DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredWeight": 2.0}]
    )
    v = aws.variants("two")
    assert (v["a"]["CurrentWeight"], v["a"]["CurrentInstanceCount"]) == (2.0, 3), v["a"]
    server.events()
    ok("UpdateEndpointWeightsAndCapacities in instant mode")

    refused(
        aws.sm.update_endpoint_weights_and_capacities,
        "ValidationException",
        "the capacity of one variant at a time",
        EndpointName="two",
        DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredInstanceCount": 2},
            {"VariantName": "b", "DesiredInstanceCount": 2},
        ],
    )
    ok("UpdateEndpointWeightsAndCapacities takes the capacity of one variant only")


def deleting(server: Server, aws: Aws) -> None:
    server.timing(0)
    arn = aws.fleet("gone")
    target = aws.register("gone", Tags={"owner": "tests"})
    tracking = aws.tracking(
        "gone",
        "track",
        {
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    step = aws.step("gone", "step")
    aws.alarm("gone-step-alarm", threshold=1.0, AlarmActions=[step])
    aws.scheduled("gone", "morning")
    aws.sm.put_endpoint_policy(
        EndpointName="gone", ResourcePolicy='{"Version": "2012-10-17", "Statement": []}'
    )
    server.events()

    server.timing(DELAY)
    aws.sm.delete_endpoint(EndpointName="gone")
    assert aws.status("gone") == "Deleting"
    refused(
        aws.sm.delete_endpoint,
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
        EndpointName="gone",
    )
    assert server.statuses("gone") == ["DELETING"]
    assert aws.targets("gone"), "targets stay while Deleting"
    ok("DeleteEndpoint: Deleting with a DELETING event; a second DeleteEndpoint is refused")

    time.sleep(PAUSE)
    refused(
        aws.sm.describe_endpoint,
        "ValidationException",
        "Could not find endpoint",
        EndpointName="gone",
    )
    assert server.statuses("gone") == [], "no event for the disappearance"
    assert aws.targets("gone") == [], "the endpoint's scalable targets are deregistered"
    assert (
        aws.policies("gone") == [] and aws.actions("gone") == []
    ), "its policies and scheduled actions are gone"
    alarms = aws.alarms()
    assert not [
        n for n in alarms if n.startswith("TargetTracking-endpoint/gone/")
    ], f"target tracking alarms: {list(alarms)}"
    assert alarms["gone-step-alarm"]["AlarmActions"] == [], alarms["gone-step-alarm"]
    refused(aws.aas.list_tags_for_resource, "ResourceNotFoundException", ResourceARN=target)
    assert tracking["PolicyARN"] not in json.dumps(list(alarms.values()), default=str)
    ok("then it is gone, with its targets, policies (and alarm effects), scheduled actions, tags")

    server.timing(0)
    aws.sm.create_endpoint(EndpointName="gone", EndpointConfigName="gone")
    refused(
        aws.sm.get_endpoint_policy,
        "ValidationException",
        "has no endpoint policy",
        EndpointName="gone",
    )
    server.events()
    ok("a new endpoint of a deleted one's name has no endpoint policy")


def other_accounts(server: Server) -> None:
    server.timing(DELAY)
    west = Aws(server, region="us-west-2", account="111122223333")
    arn = west.fleet("far")
    assert arn == "arn:aws:sagemaker:us-west-2:111122223333:endpoint/far", arn
    pending = server.control("GET", "pending")["pending"]
    assert [(p["account"], p["region"], p["endpoint"]) for p in pending] == [
        ("111122223333", "us-west-2", "far")
    ], pending
    time.sleep(PAUSE)
    server.control("GET", "pending")
    assert west.status("far") == "InService"
    events = server.events()
    assert [(e["account"], e["region"], e["detail"]["EndpointStatus"]) for e in events] == [
        ("111122223333", "us-west-2", "CREATING"),
        ("111122223333", "us-west-2", "IN_SERVICE"),
    ], events
    ok("transitions and events in every account and region")


def assume_role(server: Server) -> None:
    hub, spoke = "111111111111", "222222222222"

    def client(service: str, account: str | None = None, **credentials: str) -> Any:
        c = boto3.client(service, endpoint_url=server.url, region_name=REGION, **credentials)
        if account is not None:
            c.meta.events.register(
                "before-sign",
                lambda request, **_: request.headers.add_header("x-moto-account-id", account),
            )
        return c

    def trust(principal: str, **conditions: dict[str, str]) -> str:
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole",
        }
        if conditions:
            statement["Condition"] = conditions
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    hub_iam, spoke_iam = client("iam", hub), client("iam", spoke)
    for function in ("scheduler", "waker"):
        hub_iam.create_role(
            RoleName=f"hub-{function}",
            Path=f"/sagetide/hub/{function}/",
            AssumeRolePolicyDocument=trust(f"arn:aws:iam::{hub}:root"),
        )
    spoke_iam.create_role(
        RoleName="spoke-scheduler",
        AssumeRolePolicyDocument=trust(
            f"arn:aws:iam::{hub}:root",
            StringEquals={"sts:ExternalId": "team-a"},
            ArnLike={"aws:PrincipalArn": f"arn:aws:iam::{hub}:role/sagetide/hub/scheduler/*"},
        ),
    )
    spoke_role = f"arn:aws:iam::{spoke}:role/spoke-scheduler"

    def session(role: str, account: str | None = None, **credentials: str) -> dict[str, str]:
        found = client("sts", account, **credentials).assume_role(
            RoleArn=role, RoleSessionName="selftest"
        )["Credentials"]
        return {
            "aws_access_key_id": found["AccessKeyId"],
            "aws_secret_access_key": found["SecretAccessKey"],
            "aws_session_token": found["SessionToken"],
        }

    scheduler = session(f"arn:aws:iam::{hub}:role/sagetide/hub/scheduler/hub-scheduler", hub)
    waker = session(f"arn:aws:iam::{hub}:role/sagetide/hub/waker/hub-waker", hub)
    sts = client("sts", **scheduler)
    found = sts.assume_role(RoleArn=spoke_role, RoleSessionName="tick", ExternalId="team-a")
    acting = client(
        "sts",
        aws_access_key_id=found["Credentials"]["AccessKeyId"],
        aws_secret_access_key=found["Credentials"]["SecretAccessKey"],
        aws_session_token=found["Credentials"]["SessionToken"],
    )
    assert acting.get_caller_identity()["Account"] == spoke
    ok("AssumeRole by a principal the trust names, with its external id: the role's account acts")
    refused(sts.assume_role, "AccessDenied", "is not authorized to perform: sts:AssumeRole",
            RoleArn=spoke_role, RoleSessionName="tick")
    refused(sts.assume_role, "AccessDenied", RoleArn=spoke_role, RoleSessionName="tick",
            ExternalId="guessed")
    message = refused(client("sts", **waker).assume_role, "AccessDenied", RoleArn=spoke_role,
                      RoleSessionName="tick", ExternalId="team-a")
    assert f"User: arn:aws:sts::{hub}:assumed-role/hub-waker/selftest is not" in message, message
    refused(client("sts", hub).assume_role, "AccessDenied", RoleArn=spoke_role,
            RoleSessionName="tick", ExternalId="team-a")
    refused(sts.assume_role, "AccessDenied", RoleArn=f"arn:aws:iam::{spoke}:role/missing",
            RoleSessionName="tick", ExternalId="team-a")
    refused(client("sts", hub).assume_role, "AccessDenied", RoleSessionName="tick",
            RoleArn=f"arn:aws:iam::{hub}:role/hub-scheduler")
    spoke_iam.create_role(
        RoleName="guarded",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": hub}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": hub}, "Action": "sts:AssumeRole",
             "Condition": {"StringNotEquals": {"sts:ExternalId": "team-a"}}},
        ]}),
    )
    refused(sts.assume_role, "AccessDenied", RoleArn=f"arn:aws:iam::{spoke}:role/guarded",
            RoleSessionName="tick", ExternalId="team-a")
    ok("AssumeRole refused without the external id, to another principal, of a missing role, "
       "of a role asked for without its path, under a Deny whose condition is not modelled")


# --- B. endpoint policies -------------------------------------------------------------------------


def endpoint_policies(server: Server, aws: Aws) -> None:
    server.timing(0)
    arn = aws.fleet("pol")
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "111122223333"},
                    "Action": "sagemaker:InvokeEndpoint",
                    "Resource": arn,
                }
            ],
        }
    )
    assert (
        aws.sm.put_endpoint_policy(EndpointName="pol", ResourcePolicy=policy)["EndpointArn"] == arn
    )
    got = aws.sm.get_endpoint_policy(EndpointName="pol")
    assert (got["EndpointArn"], got["EndpointName"], got["ResourcePolicy"]) == (
        arn,
        "pol",
        policy,
    ), got
    aws.sm.put_endpoint_policy(
        EndpointName="pol", ResourcePolicy='{"Version": "2012-10-17", "Statement": []}'
    )
    assert aws.sm.get_endpoint_policy(EndpointName="pol")["ResourcePolicy"].endswith(
        '"Statement": []}'
    ), "replaced"
    ok("PutEndpointPolicy / GetEndpointPolicy: attach, read, replace")

    aws.sm.delete_endpoint_policy(EndpointName="pol")
    refused(
        aws.sm.get_endpoint_policy,
        "ValidationException",
        f'Endpoint "{arn}" has no endpoint policy.',
        EndpointName="pol",
    )
    aws.sm.delete_endpoint_policy(EndpointName="pol")
    refused(
        aws.sm.get_endpoint_policy,
        "ValidationException",
        "Could not find endpoint",
        EndpointName="nowhere",
    )
    refused(
        aws.sm.put_endpoint_policy,
        "ValidationException",
        "Could not find endpoint",
        EndpointName="nowhere",
        ResourcePolicy=policy,
    )
    refused(
        aws.sm.delete_endpoint_policy,
        "ValidationException",
        "Could not find endpoint",
        EndpointName="nowhere",
    )
    ok(
        "DeleteEndpointPolicy succeeds with or without a policy; Get without one: ValidationException"
    )

    server.timing(DELAY)
    aws.fleet("pol-creating")
    aws.sm.put_endpoint_policy(EndpointName="pol-creating", ResourcePolicy=policy)
    time.sleep(PAUSE)
    aws.sm.delete_endpoint(EndpointName="pol-creating")
    refused(
        aws.sm.put_endpoint_policy,
        "ValidationException",
        "Deleting",
        EndpointName="pol-creating",
        ResourcePolicy=policy,
    )
    server.control("POST", "capacity", {"instance_type": "ml.c5.large", "available": False})
    aws.fleet("pol-failed", instance="ml.c5.large")
    time.sleep(PAUSE)
    assert aws.status("pol-failed") == "Failed"
    refused(
        aws.sm.put_endpoint_policy,
        "ValidationException",
        "Failed",
        EndpointName="pol-failed",
        ResourcePolicy=policy,
    )
    server.control("POST", "capacity", {"instance_type": "ml.c5.large", "available": True})
    server.events()
    ok("PutEndpointPolicy refused for a Deleting or Failed endpoint (allowed while Creating)")


# --- C. definitions -------------------------------------------------------------------------------


def definitions(server: Server, aws: Aws) -> None:
    server.timing(0)
    model = {
        "ModelName": "whole",
        "ExecutionRoleArn": ROLE,
        "Containers": [
            {"Image": "image:1", "Environment": {"A": "1"}, "ModelDataUrl": "s3://b/m.tar.gz"},
            {"Image": "image:2"},
        ],
        "InferenceExecutionConfig": {"Mode": "Direct"},
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "EnableNetworkIsolation": True,
    }
    aws.sm.create_model(**model, Tags=[{"Key": "k", "Value": "v"}])
    reserved = [{"Key": "aws:cloudformation:stack-name", "Value": "s"}]
    refused(
        aws.sm.create_model,
        "ValidationException",
        "reserved for AWS use",
        **{**model, "ModelName": "reserved"},
        Tags=reserved,
    )
    refused(
        aws.sm.add_tags,
        "ValidationException",
        "reserved for AWS use",
        ResourceArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/whole",
        Tags=reserved,
    )
    ok("tag keys beginning with aws: are refused on create and AddTags")
    refused(aws.sm.create_model, "ValidationException", "Cannot create already existing model", **model)
    found = aws.sm.describe_model(ModelName="whole")
    assert {k: found[k] for k in model} == model, found
    assert (
        found["ModelArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/whole"
        and "CreationTime" in found
    ), found
    aws.model("plain")
    assert aws.sm.describe_model(ModelName="plain")["EnableNetworkIsolation"] is False
    ok(
        "CreateModel kept whole: DescribeModel answers every field given (EnableNetworkIsolation false by default)"
    )

    aws.model("shadow-model")
    config = {
        "EndpointConfigName": "whole",
        "ProductionVariants": [
            {
                "VariantName": "main",
                "ModelName": "whole",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1.0,
                "VolumeSizeInGB": 30,
                "ModelDataDownloadTimeoutInSeconds": 600,
                "ContainerStartupHealthCheckTimeoutInSeconds": 300,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 1,
                    "MaxInstanceCount": 4,
                },
            }
        ],
        "ShadowProductionVariants": [
            {
                "VariantName": "shadow",
                "ModelName": "shadow-model",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 0.5,
            }
        ],
        "DataCaptureConfig": {
            "InitialSamplingPercentage": 50,
            "DestinationS3Uri": "s3://b/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
            "EnableCapture": True,
        },
        "KmsKeyId": "key-1",
        "ExecutionRoleArn": ROLE,
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "EnableNetworkIsolation": True,
        "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://b/out"}},
        "ExplainerConfig": {
            "ClarifyExplainerConfig": {
                "ShapConfig": {
                    "ShapBaselineConfig": {"MimeType": "text/csv", "ShapBaseline": "1,2"}
                }
            }
        },
    }
    aws.sm.create_endpoint_config(**config, Tags=[{"Key": "k", "Value": "v"}])
    refused(
        aws.sm.create_endpoint_config,
        "ValidationException",
        "Cannot create already existing endpoint configuration",
        **config,
    )
    found = aws.sm.describe_endpoint_config(EndpointConfigName="whole")
    assert {k: found[k] for k in config} == config, found
    assert (
        found["EndpointConfigArn"].endswith(":endpoint-config/whole") and "CreationTime" in found
    ), found
    ok("CreateEndpointConfig kept whole: DescribeEndpointConfig answers every field given")

    aws.sm.create_endpoint(EndpointName="whole", EndpointConfigName="whole")
    shadows = aws.sm.describe_endpoint(EndpointName="whole")["ShadowProductionVariants"]
    assert shadows == [
        {
            "VariantName": "shadow",
            "CurrentWeight": 0.5,
            "DesiredWeight": 0.5,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        }
    ], shadows
    record = aws.sm.search(
        Resource="Endpoint",
        SearchExpression={
            "Filters": [{"Name": "EndpointName", "Operator": "Equals", "Value": "whole"}]
        },
    )["Results"][0]["Endpoint"]
    assert record["ShadowProductionVariants"] == shadows, record
    ok("DescribeEndpoint and Search summarise ShadowProductionVariants")

    components = {
        "EndpointConfigName": "components",
        "ExecutionRoleArn": ROLE,
        "ProductionVariants": [
            {
                "VariantName": "main",
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 1,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    }
    aws.sm.create_endpoint_config(**components)
    found = aws.sm.describe_endpoint_config(EndpointConfigName="components")
    assert (
        found["ProductionVariants"] == components["ProductionVariants"]
        and found["ExecutionRoleArn"] == ROLE
    ), found
    aws.sm.create_endpoint(EndpointName="components", EndpointConfigName="components")
    assert aws.status("components") == "InService"
    no_role = {k: v for k, v in components.items() if k != "ExecutionRoleArn"} | {
        "EndpointConfigName": "no-role"
    }
    refused(aws.sm.create_endpoint_config, "ValidationException", "ModelName", **no_role)
    ok(
        "production variants without ModelName: accepted with ExecutionRoleArn (inference components), else refused"
    )

    missing_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/nowhere"
    bad_shadow = config | {
        "EndpointConfigName": "bad-shadow",
        "ShadowProductionVariants": [
            {
                "VariantName": "shadow",
                "ModelName": "nowhere",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    }
    refused(
        aws.sm.create_endpoint_config,
        "ValidationException",
        f"Could not find model '{missing_arn}'.",
        **bad_shadow,
    )
    bad_main = components | {
        "EndpointConfigName": "bad-main",
        "ProductionVariants": [
            {
                "VariantName": "main",
                "ModelName": "nowhere",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    }
    refused(
        aws.sm.create_endpoint_config, "ValidationException", "Could not find model", **bad_main
    )
    refused(aws.sm.describe_endpoint_config, "ValidationException", EndpointConfigName="bad-shadow")
    ok("CreateEndpointConfig checks the model of every production and shadow variant")

    for kind, name in (("model", "whole"), ("endpoint-config", "whole"), ("endpoint", "whole")):
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"
        aws.sm.add_tags(
            ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
        )
        aws.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
        aws.sm.delete_tags(ResourceArn=arn, TagKeys=["b"])
        tags = {t["Key"]: t["Value"] for t in aws.sm.list_tags(ResourceArn=arn)["Tags"]}
        expected = {"a": "3"} | ({"k": "v"} if kind != "endpoint" else {})
        assert tags == expected, f"{kind} tags: {tags}"
        assert len(aws.sm.list_tags(ResourceArn=arn)["Tags"]) == len(
            expected
        ), "AddTags overwrites a key"
        refused(
            aws.sm.list_tags,
            "ValidationException",
            "Could not find",
            ResourceArn=arn.replace("/whole", "/nowhere"),
        )
    ok("ListTags / AddTags (overwriting) / DeleteTags; a missing resource: ValidationException")

    aws.sm.delete_model(ModelName="plain")
    refused(aws.sm.describe_model, "ValidationException", "Could not find model", ModelName="plain")
    aws.sm.delete_endpoint_config(EndpointConfigName="components")
    refused(
        aws.sm.describe_endpoint_config,
        "ValidationException",
        "Could not find endpoint configuration",
        EndpointConfigName="components",
    )
    server.events()
    ok("DeleteModel and DeleteEndpointConfig")


# --- D. Application Auto Scaling ------------------------------------------------------------------


def scalable_targets(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.fleet("scale")
    aws.model("serverless")
    aws.sm.create_endpoint_config(
        EndpointConfigName="serverless",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": "serverless",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    aws.sm.create_endpoint(EndpointName="serverless", EndpointConfigName="serverless")
    server.timing(DELAY)
    aws.fleet("scale-creating")

    def not_scalable(endpoint: str, variant: str, reason: str) -> None:
        message = refused(
            aws.register,
            "ValidationException",
            f"Resource Id endpoint/{endpoint}/variant/{variant} is not scalable. Reason: ",
            endpoint=endpoint,
            variant=variant,
        )
        assert reason in message, f"reason {reason!r} in {message!r}"

    not_scalable("nowhere", "main", "does not exist")
    not_scalable("scale-creating", "main", "Creating")
    not_scalable("scale", "other", "other")
    not_scalable("serverless", "main", "sagemaker:variant:DesiredProvisionedConcurrency")
    ok(
        "RegisterScalableTarget refused: no endpoint, not InService, no such variant, serverless variant"
    )

    arn = aws.register("scale", Tags={"owner": "tests"})
    assert aws.aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "tests"}
    again = aws.aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/scale/variant/main",
        ScalableDimension=DIMENSION,
        MinCapacity=2,
        MaxCapacity=6,
        Tags={"owner": "someone else", "new": "tag"},
    )["ScalableTargetARN"]
    assert again == arn
    assert aws.aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "owner": "tests"
    }, "Tags only when created"
    assert (aws.targets("scale")[0]["MinCapacity"], aws.targets("scale")[0]["MaxCapacity"]) == (
        2,
        6,
    ), "updated"
    aws.aas.tag_resource(ResourceARN=arn, Tags={"owner": "ops", "cost": "1"})
    aws.aas.untag_resource(ResourceARN=arn, TagKeys=["cost"])
    assert aws.aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "ops"}
    unknown = arn[: arn.rindex("/") + 1] + "0" * 36
    refused(aws.aas.list_tags_for_resource, "ResourceNotFoundException", ResourceARN=unknown)
    refused(aws.aas.tag_resource, "ResourceNotFoundException", ResourceARN=unknown, Tags={"a": "b"})
    refused(aws.aas.untag_resource, "ResourceNotFoundException", ResourceARN=unknown, TagKeys=["a"])
    ok(
        "RegisterScalableTarget Tags only on creation; TagResource / UntagResource / ListTagsForResource"
    )

    missing = (
        "No scalable target registered for service namespace: sagemaker, resource ID: "
        f"endpoint/nowhere/variant/main, scalable dimension: {DIMENSION}"
    )
    refused(aws.step, "ObjectNotFoundException", missing, endpoint="nowhere", name="p")
    refused(aws.scheduled, "ObjectNotFoundException", missing, endpoint="nowhere", name="s")
    time.sleep(PAUSE)
    server.events()
    ok("PutScalingPolicy and PutScheduledAction without a scalable target: ObjectNotFoundException")


def target_tracking(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.fleet("track")
    aws.register("track")
    rid = "endpoint/track/variant/main"
    invocations = {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        }
    }
    put = aws.tracking("track", "tt", {"TargetValue": 100.0, **invocations})
    arn = put["PolicyARN"]
    alarms = aws.alarms(f"TargetTracking-{rid}-")
    high = next(a for n, a in alarms.items() if n.startswith(f"TargetTracking-{rid}-AlarmHigh-"))
    low = next(a for n, a in alarms.items() if n.startswith(f"TargetTracking-{rid}-AlarmLow-"))
    assert len(alarms) == 2, list(alarms)
    assert sorted(a["AlarmName"] for a in put["Alarms"]) == sorted(alarms), put["Alarms"]
    for alarm, operator, threshold, periods in (
        (high, "GreaterThanThreshold", 100.0, 3),
        (low, "LessThanThreshold", 90.0, 15),
    ):
        assert (
            alarm["ComparisonOperator"],
            alarm["Threshold"],
            alarm["EvaluationPeriods"],
            alarm["Period"],
        ) == (operator, threshold, periods, 60), alarm
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/SageMaker",
            "InvocationsPerInstance",
            "Sum",
        ), alarm
        assert sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == [
            ("EndpointName", "track"),
            ("VariantName", "main"),
        ], alarm
        assert alarm["AlarmActions"] == [arn], alarm
        assert (
            alarm["AlarmDescription"]
            == f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}."
        ), alarm
    described = aws.policies("track")[0]
    assert sorted((a["AlarmName"], a["AlarmARN"]) for a in described["Alarms"]) == sorted(
        (n, a["AlarmArn"]) for n, a in alarms.items()
    ), described
    ok("target tracking: AlarmHigh and AlarmLow as Application Auto Scaling makes them, listed")

    again = aws.tracking("track", "tt", {"TargetValue": 200.0, **invocations})
    assert again["PolicyARN"] == arn, "an updated policy keeps its ARN"
    updated = aws.alarms(f"TargetTracking-{rid}-")
    assert sorted(updated) == sorted(alarms), "and its alarms' names"
    assert (updated[high["AlarmName"]]["Threshold"], updated[low["AlarmName"]]["Threshold"]) == (
        200.0,
        180.0,
    ), updated
    aws.tracking("track", "tt", {"TargetValue": 200.0, "DisableScaleIn": True, **invocations})
    assert sorted(aws.alarms(f"TargetTracking-{rid}-")) == [
        high["AlarmName"]
    ], "DisableScaleIn: no AlarmLow"
    ok(
        "an updated policy keeps PolicyARN and alarm names, new thresholds; DisableScaleIn: no AlarmLow"
    )

    aws.aas.delete_scaling_policy(
        PolicyName="tt", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION
    )
    assert aws.alarms(f"TargetTracking-{rid}-") == {}, "deleting the policy deletes its alarms"
    ok("DeleteScalingPolicy of target tracking deletes its alarms")

    concurrency = aws.tracking(
        "track",
        "cc",
        {
            "TargetValue": 4.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"
            },
        },
    )
    single = aws.tracking(
        "track",
        "single",
        {
            "TargetValue": 50.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ModelLatency",
                "Namespace": "AWS/SageMaker",
                "Statistic": "Average",
                "Unit": "Microseconds",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "track"},
                    {"Name": "VariantName", "Value": "main"},
                ],
            },
        },
    )
    math = aws.tracking(
        "track",
        "math",
        {
            "TargetValue": 0.5,
            "CustomizedMetricSpecification": {
                "Metrics": [
                    {
                        "Id": "m1",
                        "MetricStat": {
                            "Metric": {
                                "MetricName": "Invocations",
                                "Namespace": "AWS/SageMaker",
                                "Dimensions": [{"Name": "EndpointName", "Value": "track"}],
                            },
                            "Stat": "Sum",
                        },
                        "ReturnData": False,
                    },
                    {
                        "Id": "e1",
                        "Expression": "m1 / 60",
                        "Label": "per second",
                        "ReturnData": True,
                    },
                ]
            },
        },
    )
    every = aws.alarms(f"TargetTracking-{rid}-")
    by_policy = {
        p: [every[a["AlarmName"]] for a in put["Alarms"]]
        for p, put in (("cc", concurrency), ("single", single), ("math", math))
    }
    assert {(a["MetricName"], a["Statistic"]) for a in by_policy["cc"]} == {
        ("ConcurrentRequestsPerModel", "Maximum")
    }, by_policy["cc"]
    assert {
        (a["MetricName"], a["Statistic"], a["Unit"], a["Threshold"]) for a in by_policy["single"]
    } == {
        ("ModelLatency", "Average", "Microseconds", 50.0),
        ("ModelLatency", "Average", "Microseconds", 45.0),
    }, by_policy[
        "single"
    ]
    for alarm in by_policy["math"]:
        assert [m["Id"] for m in alarm["Metrics"]] == ["m1", "e1"], alarm
        assert alarm["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "Invocations", alarm
        assert alarm["Metrics"][1]["Expression"] == "m1 / 60", alarm
    ok("target tracking alarms on ConcurrentRequestsPerModel, a customized metric, metric math")

    before = {p["PolicyName"] for p in aws.policies("track")}
    refused(
        aws.tracking,
        "ValidationException",
        f"Scalable dimension {DIMENSION} only supports the following predefined metric types",
        endpoint="track",
        name="cpu",
        config={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
        },
    )
    assert {p["PolicyName"] for p in aws.policies("track")} == before, "nothing stored"
    ok("a predefined metric that is not a SageMaker variant's is refused")


def step_and_deregister(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.fleet("steps")
    target = aws.register("steps", Tags={"owner": "tests"})
    rid = "endpoint/steps/variant/main"
    up = aws.step("steps", "up")
    aws.alarm(
        "steps-high",
        AlarmActions=[up, "arn:aws:sns:us-east-1:123456789012:ops"],
        OKActions=[up],
        InsufficientDataActions=[up],
    )
    aws.alarm("steps-ok-only", OKActions=[up])
    found = aws.cw.describe_alarms(ActionPrefix=up)["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in found) == ["steps-high", "steps-ok-only"], found
    ok("DescribeAlarms ActionPrefix matches any of an alarm's actions, OKActions too")
    aws.cw.delete_alarms(AlarmNames=["steps-ok-only"])
    aws.aas.delete_scaling_policy(
        PolicyName="up", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION
    )
    alarm = aws.alarms("steps-high")["steps-high"]
    assert (alarm["AlarmActions"], alarm["OKActions"], alarm["InsufficientDataActions"]) == (
        ["arn:aws:sns:us-east-1:123456789012:ops"],
        [],
        [],
    ), alarm
    ok(
        "DeleteScalingPolicy of a step policy removes its ARN from every alarm's actions; the alarm stays"
    )

    down = aws.step("steps", "down")
    aws.alarm("steps-low", threshold=1.0, comparison="LessThanThreshold", AlarmActions=[down])
    aws.tracking(
        "steps",
        "tt",
        {
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    aws.scheduled("steps", "morning")
    assert len(aws.policies("steps")) == 2 and len(aws.actions("steps")) == 1
    aws.aas.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION
    )
    assert (
        aws.targets("steps") == [] and aws.policies("steps") == [] and aws.actions("steps") == []
    ), "all deleted"
    assert aws.alarms(f"TargetTracking-{rid}-") == {}, "target tracking alarms deleted"
    assert (
        aws.alarms("steps-low")["steps-low"]["AlarmActions"] == []
    ), "step policy's action removed"
    refused(aws.aas.list_tags_for_resource, "ResourceNotFoundException", ResourceARN=target)
    ok(
        "DeregisterScalableTarget deletes its policies (with their alarm effects), scheduled actions and tags"
    )


# --- E. CloudWatch --------------------------------------------------------------------------------


def cbor(
    server: Server, operation: str, params: dict[str, Any], compress: bool = False
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A CloudWatch call in Smithy RPC v2 CBOR, written and read by botocore's own client code
    for that protocol: status, headers and the answer (or the error) as botocore parses it, with
    the body as it came under "raw"."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    op = model.operation_model(operation)
    request = RpcV2CBORSerializer().serialize_to_request(params, op)
    body = request["body"]
    if compress:
        body = gzip.compress(body)
        request["headers"]["Content-Encoding"] = "gzip"
    signed = AWSRequest("POST", server.url + request["url_path"], request["headers"], body)
    SigV4Auth(Credentials("test", "test"), "monitoring", REGION).add_auth(signed)
    prepared = signed.prepare()
    http = urllib.request.Request(prepared.url, prepared.body, dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as answer:
            status, headers, raw = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, dict(e.headers), e.read()
    headers = {k.lower(): v for k, v in headers.items()}
    parsed = RpcV2CBORParser().parse(
        {"body": raw, "headers": headers, "status_code": status}, op.output_shape
    )
    return status, headers, {**parsed, "raw": raw}


def cloudwatch_cbor(server: Server) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    datum = {"MetricName": "Load", "Value": 2.5, "Timestamp": now, "StorageResolution": 1}
    for compress in (False, True):
        status, headers, _ = cbor(
            server, "PutMetricData", {"Namespace": "Cbor", "MetricData": [datum]}, compress
        )
        assert status == 200 and headers.get("smithy-protocol") == "rpc-v2-cbor", (status, headers)
    query = {
        "Id": "q",
        "MetricStat": {
            "Metric": {"Namespace": "Cbor", "MetricName": "Load"},
            "Period": 10,
            "Stat": "Average",
        },
    }
    window = {"StartTime": now - timedelta(minutes=1), "EndTime": now + timedelta(minutes=1)}
    _, _, answer = cbor(server, "GetMetricData", {"MetricDataQueries": [query], **window})
    result = answer["MetricDataResults"][0]
    assert result["Values"] == [2.5], result
    assert result["Timestamps"][0].timestamp() == now.timestamp(), result
    ok("CloudWatch in RPC v2 CBOR: PutMetricData (gzipped too) and GetMetricData, timestamps as tag 1")

    alarm = {
        "AlarmName": "cbor-alarm",
        "MetricName": "Load",
        "Namespace": "Cbor",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "Tags": [{"Key": "sagetide:repoint", "Value": "true"}],
    }
    assert cbor(server, "PutMetricAlarm", alarm)[0] == 200
    _, _, described = cbor(server, "DescribeAlarms", {"AlarmNames": ["cbor-alarm"]})
    arn = described["MetricAlarms"][0]["AlarmArn"]
    assert isinstance(described["MetricAlarms"][0]["StateUpdatedTimestamp"], datetime), described
    _, _, tags = cbor(server, "ListTagsForResource", {"ResourceARN": arn})
    assert tags["Tags"] == [{"Key": "sagetide:repoint", "Value": "true"}], tags
    status, headers, error = cbor(
        server, "SetAlarmState", {"AlarmName": "none", "StateValue": "OK", "StateReason": "x"}
    )
    assert status == 404 and error["Error"]["Code"] == "ResourceNotFound", (status, error)
    assert headers.get("x-amzn-query-error") == "ResourceNotFound;Sender", headers
    backwards = {"StartTime": window["EndTime"], "EndTime": window["StartTime"]}
    status, headers, error = cbor(
        server, "GetMetricData", {"MetricDataQueries": [query], **backwards}
    )
    assert status == 400 and headers.get("x-amzn-query-error") == "ValidationError;Sender", headers
    shape = RpcV2CBORParser()._initial_body_parse(error["raw"])["__type"]
    assert shape == "com.amazonaws.cloudwatch#ValidationException", shape
    ok("CloudWatch in RPC v2 CBOR: alarms and their tags; errors with __type and x-amzn-query-error")


def metric_status(server: Server, aws: Aws) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dims = [{"Name": "EndpointName", "Value": "metrics"}, {"Name": "VariantName", "Value": "main"}]
    aws.cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": 7.0,
                "Dimensions": dims,
                "Timestamp": now - timedelta(minutes=2),
            },
            {
                "MetricName": "ModelLatency",
                "Value": 3.0,
                "Dimensions": dims,
                "Timestamp": now - timedelta(minutes=2),
            },
        ],
    )
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": name, "Dimensions": dims},
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for i, name in enumerate(("Invocations", "ModelLatency"))
    ]
    window = {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}

    def results() -> dict[str, tuple[str, list[float]]]:
        found = aws.cw.get_metric_data(MetricDataQueries=queries, **window)["MetricDataResults"]
        return {r["Id"]: (r["StatusCode"], r["Values"]) for r in found}

    assert results() == {"q0": ("Complete", [7.0]), "q1": ("Complete", [3.0])}, results()
    for status in ("InternalError", "PartialData"):
        answer = server.control(
            "POST", "metric-status", {"metric": "Invocations", "status": status}
        )
        assert answer == {"statuses": {"Invocations": status}}, answer
        assert results() == {"q0": (status, []), "q1": ("Complete", [3.0])}, results()
    ok(
        "GetMetricData: a metric made PartialData / InternalError answers so, without values; the others Complete"
    )

    status, headers, answer = cbor(server, "GetMetricData", {"MetricDataQueries": queries, **window})
    assert status == 200 and headers.get("smithy-protocol") == "rpc-v2-cbor", (status, headers)
    found = {r["Id"]: r["StatusCode"] for r in answer["MetricDataResults"]}
    assert found == {"q0": "PartialData", "q1": "Complete"}, answer
    ok("GetMetricData in RPC v2 CBOR (the Rust SDK's protocol) carries the StatusCode")

    assert server.control("POST", "metric-status", {"metric": "Invocations", "status": None}) == {
        "statuses": {}
    }
    assert results() == {"q0": ("Complete", [7.0]), "q1": ("Complete", [3.0])}, results()
    status, _ = server.http(
        "POST",
        "/_sagetide/metric-status",
        json.dumps({"metric": "Invocations", "status": "Complete"}).encode(),
    )
    assert status == 400, "only PartialData, InternalError or null"
    ok("metric status cleared with null: Complete again")


# --- F. control API -------------------------------------------------------------------------------


def control_api(server: Server, aws: Aws) -> None:
    server.control("POST", "timing", {"creating": 0, "deleting": DELAY, "updating": 0})
    assert server.control("POST", "timing", {"creating": 0.25}) == {
        "creating": 0.25,
        "deleting": DELAY,
        "updating": 0.0,
    }, "any subset"
    assert server.control("POST", "timing", {}) == {
        "creating": 0.25,
        "deleting": DELAY,
        "updating": 0.0,
    }
    status, _ = server.http("POST", "/_sagetide/timing", json.dumps({"creating": -1}).encode())
    assert status == 400, "negative delay refused"
    status, _ = server.http("POST", "/_sagetide/nothing", b"{}")
    assert status == 404
    ok("POST /_sagetide/timing takes any subset and answers the timing in force")

    server.events()
    aws.fleet("taken")
    assert [e["detail"]["EndpointStatus"] for e in server.events()] == ["CREATING"]
    assert server.events() == [], "taking empties the queue"
    ok("POST /_sagetide/events/take answers every event once, oldest first")

    server.control("POST", "capacity", {"instance_type": "ml.m5.large", "available": False})
    server.control("POST", "metric-status", {"metric": "Invocations", "status": "InternalError"})
    aws.fleet("before-reset")
    aws.sm.put_endpoint_policy(EndpointName="before-reset", ResourcePolicy="{}")
    server.reset()
    assert server.events() == [], "events forgotten"
    assert server.control("GET", "pending") == {"pending": []}, "pending forgotten"
    assert aws.sm.list_inference_components()["InferenceComponents"] == [], "components forgotten"
    assert server.control("POST", "timing", {})["creating"] == 0.25, "timing kept"
    server.timing(0)
    aws.fleet("before-reset")
    assert aws.status("before-reset") == "InService", "capacity restored by the reset"
    refused(
        aws.sm.get_endpoint_policy,
        "ValidationException",
        "has no endpoint policy",
        EndpointName="before-reset",
    )
    now = datetime.now(timezone.utc)
    result = aws.cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations"},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
    )["MetricDataResults"][0]
    assert result["StatusCode"] == "Complete", f"metric statuses forgotten: {result}"
    ok(
        "POST /moto-api/reset forgets events, pending, capacity, metric statuses, policies, components; keeps the timing"
    )


# --- G. inference components ----------------------------------------------------------------------


def inference_components(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.model("ic-model")
    aws.components_endpoint("ic")
    aws.fleet("ic-plain")
    scaling = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}
    routing = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    config = aws.sm.describe_endpoint_config(EndpointConfigName="ic")["ProductionVariants"][0]
    variant = aws.variants("ic")["main"]
    for found in (config, variant):
        assert found["ManagedInstanceScaling"] == scaling, found
        assert found["RoutingConfig"] == routing, found
    assert "ModelName" not in aws.variants("ic-plain")["main"], "not a member of the summary"
    ok(
        "DescribeEndpointConfig and DescribeEndpoint answer a variant's ManagedInstanceScaling and RoutingConfig"
    )

    for reason, kwargs in (
        ("Could not find endpoint", {"endpoint": "nowhere"}),
        ('has no production variant "other"', {"endpoint": "ic", "variant": "other"}),
        ("hosts a model", {"endpoint": "ic-plain"}),
        ("Could not find model", {"endpoint": "ic", "model": "nowhere"}),
        ("copy count an integer larger than 0", {"endpoint": "ic", "copies": 0}),
    ):
        refused(aws.component, "ValidationException", reason, name="refused", **kwargs)
    assert aws.sm.list_inference_components()["InferenceComponents"] == []
    ok(
        "CreateInferenceComponent refused: no endpoint or variant, a variant with a model, no model, no copies"
    )

    container = {"Image": "image:1", "ArtifactUrl": "s3://b/m.tar.gz", "Environment": {"A": "1"}}
    aws.sm.create_inference_component(
        InferenceComponentName="ic-image",
        EndpointName="ic",
        VariantName="main",
        Specification={
            "Container": container,
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
            "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 600},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    specification = aws.sm.describe_inference_component(InferenceComponentName="ic-image")[
        "Specification"
    ]
    assert specification == {
        "Container": {
            "DeployedImage": {"SpecifiedImage": "image:1"},
            "ArtifactUrl": "s3://b/m.tar.gz",
            "Environment": {"A": "1"},
        },
        "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 600},
    }, specification
    aws.sm.delete_inference_component(InferenceComponentName="ic-image")
    ok("DescribeInferenceComponent answers the Specification given, its container's image deployed")

    server.timing(DELAY)
    arn = aws.component("ic-a", "ic", copies=2, Tags=[{"Key": "owner", "Value": "tests"}])
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/ic-a", arn
    found = aws.sm.describe_inference_component(InferenceComponentName="ic-a")
    assert (
        found["InferenceComponentArn"],
        found["EndpointName"],
        found["EndpointArn"],
        found["VariantName"],
        found["Specification"]["ModelName"],
    ) == (arn, "ic", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/ic", "main", "ic-model"), found
    assert found["CreationTime"] <= found["LastModifiedTime"], found
    assert "FailureReason" not in found, found
    assert aws.copies("ic-a") == ("Creating", 2, 0), aws.copies("ic-a")
    pending = server.control("GET", "pending")["pending"]
    assert [(p["endpoint"], p.get("inference_component"), p["status"]) for p in pending] == [
        ("ic", "ic-a", "Creating")
    ], pending
    in_progress = f'Cannot update in-progress inference component "{arn}".'
    refused(
        aws.sm.update_inference_component_runtime_config,
        "ValidationException",
        in_progress,
        InferenceComponentName="ic-a",
        DesiredRuntimeConfig={"CopyCount": 1},
    )
    refused(
        aws.sm.delete_inference_component,
        "ValidationException",
        in_progress,
        InferenceComponentName="ic-a",
    )
    refused(
        aws.component,
        "ValidationException",
        f'Cannot create already existing inference component "{arn}".',
        name="ic-a",
        endpoint="ic",
    )
    ok(
        "CreateInferenceComponent: Creating (in /_sagetide/pending), no update or delete meanwhile, the name taken"
    )

    time.sleep(PAUSE)
    assert aws.copies("ic-a") == ("InService", 2, 2), aws.copies("ic-a")
    assert aws.variants("ic")["main"]["CurrentInstanceCount"] == 2, aws.variants("ic")
    ok(
        "then InService with its copies; the variant has an instance for each, within ManagedInstanceScaling"
    )

    def update(name: str, copies: int) -> str:
        return aws.sm.update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": copies}
        )["InferenceComponentArn"]

    assert update("ic-a", 3) == arn
    assert aws.copies("ic-a") == ("Updating", 3, 2), aws.copies("ic-a")
    assert server.control("GET", "pending")["pending"][0]["status"] == "Updating"
    time.sleep(PAUSE)
    assert aws.copies("ic-a") == ("InService", 3, 3), aws.copies("ic-a")
    assert aws.variants("ic")["main"]["CurrentInstanceCount"] == 2, "MaxInstanceCount 2"
    update("ic-a", 0)
    time.sleep(PAUSE)
    assert aws.copies("ic-a") == ("InService", 0, 0), aws.copies("ic-a")
    variant = aws.variants("ic")["main"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (0, 0), variant
    ok(
        "UpdateInferenceComponentRuntimeConfig: Updating, then the copies; no copies, no instances (MinInstanceCount 0)"
    )

    aws.sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "owner", "Value": "ops"}, {"Key": "b", "Value": "2"}]
    )
    aws.sm.delete_tags(ResourceArn=arn, TagKeys=["b"])
    assert aws.sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "ops"}]
    missing = arn.replace("/ic-a", "/nowhere")
    refused(
        aws.sm.list_tags,
        "ValidationException",
        f'Could not find inference component "{missing}".',
        ResourceArn=missing,
    )
    refused(
        aws.sm.describe_inference_component,
        "ValidationException",
        f'Could not find inference component "{missing}".',
        InferenceComponentName="nowhere",
    )
    ok(
        "AddTags / ListTags / DeleteTags on an inference component; a missing one: ValidationException"
    )

    tagging = boto3.client("resourcegroupstaggingapi", endpoint_url=server.url, region_name=REGION)
    found = tagging.get_resources(
        ResourceTypeFilters=["sagemaker:inference-component"], ResourcesPerPage=100
    )["ResourceTagMappingList"]
    assert found == [{"ResourceARN": arn, "Tags": [{"Key": "owner", "Value": "ops"}]}], found
    ok("GetResources finds tagged inference components by the resource type sagemaker:inference-component")

    aws.model("ic-lost")
    aws.component("ic-lost", "ic", model="ic-lost")
    aws.sm.delete_model(ModelName="ic-lost")
    time.sleep(PAUSE)
    found = aws.sm.describe_inference_component(InferenceComponentName="ic-lost")
    lost = f'Could not find model "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/ic-lost".'
    assert (found["InferenceComponentStatus"], found["FailureReason"]) == ("Failed", lost), found
    refused(update, "ValidationException", "Cannot update in-progress", name="ic-lost", copies=1)
    ok("a component whose model is gone when it would be in service: Failed, with a FailureReason")

    refused(
        aws.sm.delete_endpoint,
        "ValidationException",
        f'Endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/ic" hosts inference components '
        "(ic-a, ic-lost): delete them first.",
        EndpointName="ic",
    )
    for name in ("ic-a", "ic-lost"):
        aws.sm.delete_inference_component(InferenceComponentName=name)
        assert aws.copies(name)[0] == "Deleting", aws.copies(name)
    refused(update, "ValidationException", in_progress, name="ic-a", copies=1)
    refused(aws.sm.delete_endpoint, "ValidationException", "(ic-a, ic-lost)", EndpointName="ic")
    time.sleep(PAUSE)
    refused(
        aws.sm.describe_inference_component,
        "ValidationException",
        "Could not find inference component",
        InferenceComponentName="ic-a",
    )
    aws.sm.delete_endpoint(EndpointName="ic")
    server.events()
    ok(
        "DeleteEndpoint refused while it hosts components, Deleting ones too; DeleteInferenceComponent (Failed too): Deleting, then gone"
    )


def listing_components(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.components_endpoint("ic-list")
    aws.components_endpoint("ic-list-2")
    names = [f"ic-list-{i:02}" for i in range(11)]
    for name in names:
        aws.component(name, "ic-list")
    server.timing(DELAY)
    aws.component("ic-other", "ic-list-2")

    def listed(**filters: Any) -> list[str]:
        found = aws.sm.list_inference_components(**filters)["InferenceComponents"]
        return [c["InferenceComponentName"] for c in found]

    first = aws.sm.list_inference_components()
    assert len(first["InferenceComponents"]) == 10 and first.get("NextToken"), first
    assert [c["InferenceComponentName"] for c in first["InferenceComponents"]] == (
        ["ic-other", *reversed(names)][:10]
    ), "newest first"
    summary = first["InferenceComponents"][1]
    assert set(summary) == {
        "InferenceComponentName",
        "InferenceComponentArn",
        "EndpointName",
        "EndpointArn",
        "VariantName",
        "InferenceComponentStatus",
        "CreationTime",
        "LastModifiedTime",
    }, summary
    pages, token = [], None
    while True:
        page = aws.sm.list_inference_components(
            MaxResults=5,
            SortBy="Name",
            SortOrder="Ascending",
            **({"NextToken": token} if token else {}),
        )
        pages.append([c["InferenceComponentName"] for c in page["InferenceComponents"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [names[:5], names[5:10], [names[10], "ic-other"]], pages
    ok(
        "ListInferenceComponents: pages of 10 by default (MaxResults), newest first; SortBy, SortOrder"
    )

    assert listed(EndpointNameEquals="ic-list-2") == ["ic-other"]
    assert listed(StatusEquals="Creating") == ["ic-other"]
    assert len(listed(EndpointNameEquals="ic-list", VariantNameEquals="main", MaxResults=20)) == 11
    assert listed(VariantNameEquals="other") == []
    assert listed(NameContains="other") == ["ic-other"]
    time.sleep(PAUSE)
    assert listed(StatusEquals="Creating") == []
    ok(
        "ListInferenceComponents filters: EndpointNameEquals, VariantNameEquals, StatusEquals, NameContains"
    )


def component_scaling(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.components_endpoint("ics", high=4)
    aws.component("ics-a", "ics")
    rid = "inference-component/ics-a"
    server.timing(DELAY)
    aws.component("ics-creating", "ics")
    for resource_id, reason in (
        ("inference-component/nowhere", "Inference component nowhere does not exist."),
        (
            "inference-component/ics-creating",
            "The status of inference component ics-creating is Creating",
        ),
    ):
        refused(
            aws.scale,
            "ValidationException",
            f"Resource Id {resource_id} is not scalable. Reason: {reason}",
            resource_id=resource_id,
            dimension=COPIES,
            low=0,
            high=4,
        )
    time.sleep(PAUSE)
    server.timing(0)
    target = aws.scale(rid, COPIES, 0, 4, Tags={"owner": "tests"})
    assert aws.copies("ics-a") == ("InService", 1, 1), "within bounds: unchanged"
    described = aws.aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])
    assert [(t["ScalableDimension"], t["MinCapacity"]) for t in described["ScalableTargets"]] == [
        (COPIES, 0)
    ], described
    ok(
        "RegisterScalableTarget of DesiredCopyCount (inference-component/<name>, MinCapacity 0); refused for none or one not InService"
    )

    aws.scale(rid, COPIES, 2, 4)
    assert aws.copies("ics-a") == ("InService", 2, 2), aws.copies("ics-a")
    aws.aas.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=COPIES, MaxCapacity=1
    )
    assert aws.copies("ics-a") == ("InService", 1, 1), aws.copies("ics-a")
    aws.scale(rid, COPIES, 0, 4)
    assert aws.copies("ics-a") == ("InService", 1, 1), "within the new bounds: unchanged"
    ok(
        "bounds that exclude the copy count bring it within them (UpdateInferenceComponentRuntimeConfig)"
    )

    def policy(name: str, **config: Any) -> dict[str, Any]:
        return aws.aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="sagemaker",
            ResourceId=rid,
            ScalableDimension=COPIES,
            **config,
        )

    def tracking(kind: str) -> dict[str, Any]:
        return {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 4.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": kind},
            },
        }

    per_copy = policy("per-copy", **tracking("SageMakerInferenceComponentInvocationsPerCopy"))
    concurrent = policy(
        "concurrent",
        **tracking("SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"),
    )
    every = aws.alarms(f"TargetTracking-{rid}-")
    for put, metric, statistic in (
        (per_copy, "InvocationsPerCopy", "Sum"),
        (concurrent, "ConcurrentRequestsPerCopy", "Maximum"),
    ):
        alarms = [every[a["AlarmName"]] for a in put["Alarms"]]
        assert len(alarms) == 2, put
        for alarm in alarms:
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
                "AWS/SageMaker",
                metric,
                statistic,
            ), alarm
            assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "ics-a"}]
            assert alarm["AlarmActions"] == [put["PolicyARN"]], alarm
    refused(
        policy,
        "ValidationException",
        f"Scalable dimension {COPIES} only supports the following predefined metric types: "
        "SageMakerInferenceComponentInvocationsPerCopy, "
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        name="variant-metric",
        **tracking("SageMakerVariantInvocationsPerInstance"),
    )
    step = policy(
        "from-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )["PolicyARN"]
    aws.alarm("ics-no-capacity", AlarmActions=[step])
    aws.aas.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="night",
        ResourceId=rid,
        ScalableDimension=COPIES,
        Schedule="cron(0 20 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0},
    )
    ok(
        "a component's target tracking (InvocationsPerCopy, ConcurrentRequestsPerCopy alarms), step policies, scheduled actions"
    )

    aws.sm.delete_inference_component(InferenceComponentName="ics-a")
    aws.sm.delete_inference_component(InferenceComponentName="ics-creating")
    server.control("GET", "pending")
    described = aws.aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])
    assert described["ScalableTargets"] == [], described
    left = aws.aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)
    assert left["ScalingPolicies"] == [], left
    actions = aws.aas.describe_scheduled_actions(ServiceNamespace="sagemaker", ResourceId=rid)
    assert actions["ScheduledActions"] == [], actions
    assert aws.alarms(f"TargetTracking-{rid}-") == {}, "target tracking alarms deleted"
    assert aws.alarms("ics-no-capacity")["ics-no-capacity"]["AlarmActions"] == []
    refused(aws.aas.list_tags_for_resource, "ResourceNotFoundException", ResourceARN=target)
    aws.sm.delete_endpoint(EndpointName="ics")
    server.events()
    ok(
        "a deleted component takes its scalable target, policies (and their alarm effects), scheduled actions, tags"
    )


def provisioned_concurrency_and_zero(server: Server, aws: Aws) -> None:
    server.timing(0)
    aws.model("pc")
    aws.sm.create_endpoint_config(
        EndpointConfigName="pc",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": "pc",
                "ServerlessConfig": {
                    "MemorySizeInMB": 2048,
                    "MaxConcurrency": 5,
                    "ProvisionedConcurrency": 2,
                },
            }
        ],
    )
    aws.sm.create_endpoint(EndpointName="pc", EndpointConfigName="pc")
    aws.fleet("real-time")
    rid = "endpoint/pc/variant/main"
    aws.scale(rid, CONCURRENCY, 0, 5)
    refused(
        aws.scale,
        "ValidationException",
        "MaxConcurrency",
        resource_id=rid,
        dimension=CONCURRENCY,
        low=1,
        high=6,
    )
    for endpoint in ("serverless", "real-time"):
        refused(
            aws.scale,
            "ValidationException",
            "has no provisioned concurrency to scale",
            resource_id=f"endpoint/{endpoint}/variant/main",
            dimension=CONCURRENCY,
            low=1,
            high=2,
        )
    put = aws.aas.put_scaling_policy(
        PolicyName="pc",
        ServiceNamespace="sagemaker",
        ResourceId=rid,
        ScalableDimension=CONCURRENCY,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 0.7,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"
            },
        },
    )
    for alarm in (aws.alarms(a["AlarmName"])[a["AlarmName"]] for a in put["Alarms"]):
        assert (alarm["MetricName"], alarm["Statistic"]) == (
            "ServerlessProvisionedConcurrencyUtilization",
            "Average",
        ), alarm
    ok(
        "DesiredProvisionedConcurrency: only a variant with provisioned concurrency, up to its MaxConcurrency; its utilization alarms"
    )

    refused(
        aws.scale,
        "ValidationException",
        "Resource Id endpoint/real-time/variant/main is not scalable. Reason: The minimum "
        "capacity of real-time endpoint real-time's variant main is 1",
        resource_id="endpoint/real-time/variant/main",
        dimension=DIMENSION,
        low=0,
        high=2,
    )
    aws.model("async")
    output = {"OutputConfig": {"S3OutputPath": "s3://b/o"}}
    aws.config("async", "async", AsyncInferenceConfig=output)
    aws.sm.create_endpoint(EndpointName="async", EndpointConfigName="async")
    described = aws.sm.describe_endpoint(EndpointName="async")
    assert described["AsyncInferenceConfig"] == output, described
    aws.scale("endpoint/async/variant/main", DIMENSION, 0, 2)
    server.events()
    ok(
        "DesiredInstanceCount MinCapacity 0: refused for a real-time variant, accepted for an asynchronous endpoint's"
    )

def main() -> None:
    started = time.monotonic()
    with Server() as server:
        aws = Aws(server)
        search_fixes(server, aws)
        creating(server, aws)
        failing(server, aws)
        updating(server, aws)
        deleting(server, aws)
        other_accounts(server)
        assume_role(server)
        endpoint_policies(server, aws)
        definitions(server, aws)
        scalable_targets(server, aws)
        target_tracking(server, aws)
        step_and_deregister(server, aws)
        inference_components(server, aws)
        listing_components(server, aws)
        component_scaling(server, aws)
        provisioned_concurrency_and_zero(server, aws)
        cloudwatch_cbor(server)
        metric_status(server, aws)
        control_api(server, aws)
    print(f"all behaviours as AWS documents them ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
