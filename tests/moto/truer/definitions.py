"""SageMaker EndpointConfigs and Models, kept whole and described as they were given.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html
  "Returns the description of an endpoint configuration created using the CreateEndpointConfig
  API." (its answer carries ExecutionRoleArn, ShadowProductionVariants, VpcConfig,
  EnableNetworkIsolation, ExplainerConfig, AsyncInferenceConfig, ... as created)
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeModel.html
  "Describes a model that you created using the CreateModel API." (EnableNetworkIsolation: "If
  True, no inbound or outbound network calls can be made to or from the model container." AWS
  answers false when it was not set.)
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceComponent.html
  "Creates an inference component, which is a SageMaker AI hosting object that you can use to
  deploy a model to an endpoint." The models come with the inference components, so the
  production variants of such an endpoint's config name no model; the config names an
  ExecutionRoleArn instead.

moto keeps only some fields of CreateEndpointConfig and CreateModel (no ExecutionRoleArn,
ShadowProductionVariants, VpcConfig or EnableNetworkIsolation on a config; no
InferenceExecutionConfig or the given EnableNetworkIsolation on a model), answers HTTP 500 to a
production variant without ModelName, and checks no shadow variant's model. sagetide snapshots a
sleeping endpoint's config and model and re-creates them, so a field moto drops would be a field
the tests cannot see lost. Here the whole request (but its Tags, which ListTags answers) is kept
with moto's object and is what DescribeEndpointConfig, DescribeModel and CreateEndpoint read.

moto also replaces a config or model created again under a name that exists; AWS refuses
("Cannot create already existing endpoint configuration", as for endpoints), which a create the
SDK retried after its answer was lost meets.
"""

from typing import Any
from weakref import WeakKeyDictionary

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpointConfig, Model, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from .tags import refuse_reserved

# Keyed by moto's object, so that deleting it, or moto's reset, takes its request with it.
_configs: WeakKeyDictionary[FakeEndpointConfig, dict[str, Any]] = WeakKeyDictionary()
_models: WeakKeyDictionary[Model, dict[str, Any]] = WeakKeyDictionary()


def reset() -> None:
    _configs.clear()
    _models.clear()


def _request(response: SageMakerResponse) -> dict[str, Any]:
    return {k: v for k, v in response.params.items() if k != "Tags"}


def _check_models(backend: SageMakerModelBackend, request: dict[str, Any]) -> None:
    variants = [
        *request.get("ProductionVariants", []),
        *request.get("ShadowProductionVariants", []),
    ]
    for variant in variants:
        model = variant.get("ModelName")
        if model is None:
            if not request.get("ExecutionRoleArn"):
                raise ValidationError(
                    message=f'Production variant "{variant.get("VariantName")}" names no '
                    "model: only an endpoint configuration with an ExecutionRoleArn (an "
                    "endpoint for inference components) may leave ModelName out."
                )
        elif model not in backend._models:
            arn = arn_formatter("model", model, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find model '{arn}'.")  # moto's words


def _refuse_existing(kind: str, arn: str) -> None:
    raise ValidationError(message=f'Cannot create already existing {kind} "{arn}".')


def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    request = _request(self)
    refuse_reserved(self._get_param("Tags"))
    name = request["EndpointConfigName"]
    if name in backend.endpoint_configs:
        arn = FakeEndpointConfig.arn_formatter(name, backend.account_id, backend.region_name)
        _refuse_existing("endpoint configuration", arn)
    _check_models(backend, request)
    config = FakeEndpointConfig(
        account_id=backend.account_id,
        region_name=backend.region_name,
        endpoint_config_name=request["EndpointConfigName"],
        production_variants=request["ProductionVariants"],
        async_inference_config=request.get("AsyncInferenceConfig"),
        data_capture_config=request.get("DataCaptureConfig"),
        tags=self._get_param("Tags"),
        kms_key_id=request.get("KmsKeyId"),
    )
    # moto checks each production variant's instance type or serverless config; so it is for
    # the shadows.
    config.validate_production_variants(request.get("ShadowProductionVariants", []))
    _configs[config] = request
    backend.endpoint_configs[config.endpoint_config_name] = config
    return ActionResult({"EndpointConfigArn": config.endpoint_config_arn})


def create_model(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    request = _request(self)
    refuse_reserved(self._get_param("Tags"))
    if request["ModelName"] in backend._models:
        arn = arn_formatter("model", request["ModelName"], backend.account_id, backend.region_name)
        _refuse_existing("model", arn)
    model = backend.create_model(
        model_name=request["ModelName"],
        execution_role_arn=request.get("ExecutionRoleArn"),
        primary_container=request.get("PrimaryContainer"),
        vpc_config=request.get("VpcConfig"),
        containers=request.get("Containers"),
        tags=self._get_param("Tags"),
    )
    _models[model] = request
    return ActionResult(model.response_create)


def install() -> None:
    config_answer = FakeEndpointConfig.response_object
    model_answer = Model.response_object

    def config_as_created(self: FakeEndpointConfig) -> dict[str, Any]:
        request = _configs.get(self)
        if request is None:  # made another way, such as CloudFormation
            return config_answer.fget(self)
        return {
            **request,
            "EndpointConfigArn": self.endpoint_config_arn,
            "CreationTime": self.creation_time,
        }

    def model_as_created(self: Model) -> dict[str, Any]:
        request = _models.get(self)
        if request is None:
            return model_answer.fget(self)
        return {
            "EnableNetworkIsolation": False,
            **request,
            "ModelArn": self.arn,
            "CreationTime": self.creation_time,
        }

    FakeEndpointConfig.response_object = property(config_as_created)
    Model.response_object = property(model_as_created)
    SageMakerResponse.create_endpoint_config = create_endpoint_config
    SageMakerResponse.create_model = create_model
