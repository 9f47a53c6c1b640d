"""CloudWatch GetMetricData results that are not Complete, on demand.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataResult.html
  StatusCode: "The status of the returned data. Complete indicates that all data points in the
  requested time range were returned. PartialData means that an incomplete set of data points
  were returned. ... InternalError indicates that an error occurred."

moto answers every query Complete. sagetide must not act on data that is not (it fails closed),
so the control API can make the results of every query on a given MetricName answer
`PartialData` or `InternalError`, with no values, until it is cleared. Results of other queries,
and of math expressions, stay as moto gives them. The status is set on the result moto's
serializer writes, so every protocol's answer carries it (the Rust SDK's CBOR through `cbor`).
"""

from datetime import datetime
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend

STATUSES = ("PartialData", "InternalError")

_statuses: dict[str, str] = {}  # by MetricName


def set_status(metric: str, status: str | None) -> dict[str, str]:
    """Makes results on `metric` answer `status` (None: as moto does); every status set."""
    if status is None:
        _statuses.pop(metric, None)
    else:
        _statuses[metric] = status
    return dict(_statuses)


def reset() -> None:
    _statuses.clear()


def install() -> None:
    get_metric_data = CloudWatchBackend.get_metric_data

    def get_metric_data_with_status(
        self: CloudWatchBackend,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        results = get_metric_data(self, queries, start_time, end_time, scan_by)
        metric_of = {
            q["Id"]: q["MetricStat"]["Metric"]["MetricName"] for q in queries if "MetricStat" in q
        }
        for result in results:
            status = _statuses.get(metric_of.get(result["id"], ""))
            if status is not None:
                result.update(status_code=status, values=[], timestamps=[])
        return results

    CloudWatchBackend.get_metric_data = get_metric_data_with_status
