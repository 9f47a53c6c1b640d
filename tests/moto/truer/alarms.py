"""CloudWatch DescribeAlarms by action prefix, over every action list.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
  "Retrieves the specified alarms. ... Alarms can be retrieved by using only a prefix for the
  alarm name, the alarm state, or a prefix for any action." ActionPrefix: "Use this parameter to
  filter the results of the operation to only those alarms that use a certain alarm action."

moto matches the prefix against AlarmActions only, so an alarm that runs a scaling policy from
its OKActions or InsufficientDataActions (a scale-in on OK, say) would not be found, where AWS
finds it.
"""

from collections.abc import Iterable

from moto.cloudwatch.models import Alarm, CloudWatchBackend


def by_action_prefix(self: CloudWatchBackend, action_prefix: str) -> Iterable[Alarm]:
    return [
        alarm
        for alarm in self.alarms.values()
        if any(
            action.startswith(action_prefix)
            for actions in (
                alarm.alarm_actions,
                alarm.ok_actions,
                alarm.insufficient_data_actions,
            )
            for action in actions or []
        )
    ]


def install() -> None:
    CloudWatchBackend.get_alarms_by_action_prefix = by_action_prefix
