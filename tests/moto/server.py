"""moto server with three fixes to SageMaker, so that it answers as AWS does.

1. Tag filters with the `Exists` and `NotExists` operators, combined by the expression's
`Operator` (`And`, the default, or `Or`).

AWS documents `{"Name": "Tags.<key>", "Operator": "Exists"}` with no `Value`, and sagetide uses
it to find every tagged endpoint in one paginated call. moto 5.2 reads `Value` unconditionally
and answers HTTP 500, and ignores the expression's `Operator`. This wrapper evaluates those
tag filters itself, the way AWS does, and passes everything else to moto unchanged.

2. Pages: AWS returns at most `MaxResults` (default 10, at most 100) results per call with a
`NextToken`; moto returns everything at once, which would make call counts (tests, benchmark)
look better than AWS's. The token here is the offset of the next page.

3. CreateEndpoint of a name that exists: AWS refuses it (ValidationException "Cannot create
already existing endpoint"); moto replaces the endpoint. A retried CreateEndpoint whose first
answer was lost (the fault-injection tests) must meet AWS's answer.

Remove each once moto handles it.
"""

import sys

from moto.core.responses import ActionResult
from moto.sagemaker import models, responses
from moto.sagemaker.exceptions import ValidationError
from moto.server import main

_search = models.SageMakerModelBackend.search
_PRESENCE = ("Exists", "NotExists")


def _is_presence_test(f):
    return f.get("Name", "").startswith("Tags.") and f.get("Operator") in _PRESENCE


def search(self, resource=None, search_expression=None):
    expression = dict(search_expression or {})
    filters = expression.get("Filters") or []
    presence = [f for f in filters if _is_presence_test(f)]
    expression["Filters"] = [f for f in filters if not _is_presence_test(f)]
    result = _search(self, resource=resource, search_expression=expression)

    def keep(record):
        found = next(iter(record.values()))
        keys = {t["Key"] for t in found.get("Tags") or []}
        tests = [(f["Name"][len("Tags."):] in keys) == (f["Operator"] == "Exists") for f in presence]
        combine = any if expression.get("Operator") == "Or" else all
        return combine(tests) if tests else True

    result["Results"] = [r for r in result["Results"] if keep(r)]
    return result


models.SageMakerModelBackend.search = search


def paged_search(self):
    result = self.sagemaker_backend.search(
        resource=self._get_param("Resource"),
        search_expression=self._get_param("SearchExpression"),
    )
    size = min(int(self._get_param("MaxResults") or 10), 100)
    start = int(self._get_param("NextToken") or 0)
    everything = result["Results"]
    result["Results"] = everything[start : start + size]
    if start + size < len(everything):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


responses.SageMakerResponse.search = paged_search

_create_endpoint = models.SageMakerModelBackend.create_endpoint


def create_endpoint(self, endpoint_name, endpoint_config_name, tags):
    if endpoint_name in self.endpoints:
        arn = models.FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f'Cannot create already existing endpoint "{arn}".')
    return _create_endpoint(self, endpoint_name, endpoint_config_name, tags)


models.SageMakerModelBackend.create_endpoint = create_endpoint

if __name__ == "__main__":
    sys.exit(main())
