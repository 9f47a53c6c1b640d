"""SageMaker endpoint policies: PutEndpointPolicy, GetEndpointPolicy, DeleteEndpointPolicy.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PutEndpointPolicy.html
  "The policy that you specify replaces the endpoint's existing policy, if it has one. You can't
  attach a policy to an endpoint whose status is Deleting or Failed." ... "If you delete the
  endpoint, its policy is also deleted, and a new endpoint with the same name has no policy."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_GetEndpointPolicy.html
  "If the endpoint doesn't have a policy, you get a ValidationException."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointPolicy.html
  "If the endpoint doesn't have a policy, the operation succeeds."

moto has none of the three (it answers that the action is not implemented). The policy document
is kept as given; AWS's checks of its content are not emulated. `endpoints` forgets an
endpoint's policy when the endpoint is gone.
"""

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from . import shared

_UNPOLICEABLE = ("Deleting", "Failed")

_policies: dict[str, str] = {}  # by endpoint ARN


def forget(endpoint_arn: str) -> None:
    _policies.pop(endpoint_arn, None)


def reset() -> None:
    _policies.clear()


def put_endpoint_policy(self: SageMakerResponse) -> ActionResult:
    endpoint = shared.find_endpoint(self.sagemaker_backend, self._get_param("EndpointName"))
    if endpoint.endpoint_status in _UNPOLICEABLE:
        raise ValidationError(
            message=f'Cannot attach a policy to endpoint "{endpoint.arn}" '
            f"while its status is {endpoint.endpoint_status}."
        )
    _policies[endpoint.arn] = self._get_param("ResourcePolicy")
    return ActionResult({"EndpointArn": endpoint.arn})


def get_endpoint_policy(self: SageMakerResponse) -> ActionResult:
    endpoint = shared.find_endpoint(self.sagemaker_backend, self._get_param("EndpointName"))
    policy = _policies.get(endpoint.arn)
    if policy is None:
        raise ValidationError(message=f'Endpoint "{endpoint.arn}" has no endpoint policy.')
    return ActionResult(
        {
            "EndpointArn": endpoint.arn,
            "EndpointName": endpoint.endpoint_name,
            "ResourcePolicy": policy,
        }
    )


def delete_endpoint_policy(self: SageMakerResponse) -> EmptyResult:
    endpoint = shared.find_endpoint(self.sagemaker_backend, self._get_param("EndpointName"))
    forget(endpoint.arn)
    return EmptyResult()


def install() -> None:
    # moto dispatches an X-Amz-Target to the response method of that name in snake case.
    SageMakerResponse.put_endpoint_policy = put_endpoint_policy
    SageMakerResponse.get_endpoint_policy = get_endpoint_policy
    SageMakerResponse.delete_endpoint_policy = delete_endpoint_policy
