"""SageMaker AddTags, ListTags and DeleteTags on models, endpoint configs and endpoints.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AddTags.html
  "Adds or overwrites one or more tags for the specified SageMaker resource. You can add tags to
  notebook instances, training jobs, hyperparameter tuning jobs, batch transform jobs, models,
  labeling jobs, work teams, endpoint configurations, and endpoints."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTags.html
  "Returns the tags for the specified SageMaker resource." (No error is documented for one that
  does not exist; SageMaker answers a ValidationException, as its Describe* calls do.)

https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html
  "The aws: prefix is reserved for AWS use. You can't edit or delete tag keys or values that
  begin with this prefix" (a request that sets one is refused).

moto answers HTTP 500 when the resource does not exist (it reads the tags of None), AddTags
of a key the resource has adds a second tag with that key instead of overwriting its value, and
it accepts tags whose keys AWS reserves; so do its creates of endpoints, configs and models.
"""

from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

# How SageMaker's messages name each kind of resource an ARN can name.
_KINDS = {"endpoint-config": "endpoint configuration"}


def refuse_reserved(tags: list[dict[str, str]] | None) -> None:
    """AWS's answer to a request that sets a tag of its own."""
    for tag in tags or []:
        if tag.get("Key", "").startswith("aws:"):
            raise ValidationError(
                message=f"Tag keys beginning with aws: are reserved for AWS use: {tag['Key']}"
            )


def add_tags(
    self: SageMakerModelBackend, arn: str, tags: list[dict[str, str]]
) -> list[dict[str, str]]:
    refuse_reserved(tags)
    resource = self._get_resource_from_arn(arn)
    given = {t["Key"] for t in tags}
    resource.tags = [t for t in resource.tags if t["Key"] not in given] + list(tags)
    return resource.tags


def install() -> None:
    find = SageMakerModelBackend._get_resource_from_arn

    def find_or_refuse(self: SageMakerModelBackend, arn: str) -> Any:
        resource = find(self, arn)
        if resource is None:
            kind = arn.split(":")[-1].split("/")[0]
            raise ValidationError(message=f'Could not find {_KINDS.get(kind, kind)} "{arn}".')
        return resource

    SageMakerModelBackend._get_resource_from_arn = find_or_refuse
    SageMakerModelBackend.add_tags = add_tags
