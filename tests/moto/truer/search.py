"""SageMaker Search: tag presence filters, the `Or` operator, and pages, as AWS answers them.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Filter.html
  "Exists: The Name property exists." / "NotExists: The Name property does not exist."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_SearchExpression.html
  "If only a single conditional statement needs to be true for the entire search expression to
  be true, specify Or. The default value is And."
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html
  "If more than MaxResults resources match the specified SearchExpression, the response includes
  a NextToken." (MaxResults is 1 to 100; a page here has 10 when it is not given.)

sagetide finds every tagged endpoint with `{"Name": "Tags.<key>", "Operator": "Exists"}` (no
`Value`) in one paginated call. moto 5.2 reads `Value` unconditionally (HTTP 500), ignores the
expression's `Operator`, and returns every result at once, which would make call counts (tests,
benchmark) look better than AWS's. Here the presence filters are evaluated the way AWS does, the
rest goes to moto unchanged, and the page token is the offset of the next page.
"""

from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

_PRESENCE = ("Exists", "NotExists")
_DEFAULT_PAGE = 10
_LARGEST_PAGE = 100


def _is_presence_test(f: dict[str, Any]) -> bool:
    return f.get("Name", "").startswith("Tags.") and f.get("Operator") in _PRESENCE


def install() -> None:
    search = SageMakerModelBackend.search

    def search_with_presence(
        self: SageMakerModelBackend,
        resource: Any = None,
        search_expression: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        expression = dict(search_expression or {})
        filters = expression.get("Filters") or []
        presence = [f for f in filters if _is_presence_test(f)]
        expression["Filters"] = [f for f in filters if not _is_presence_test(f)]
        result = search(self, resource=resource, search_expression=expression)
        combine = any if expression.get("Operator") == "Or" else all

        def keep(record: dict[str, Any]) -> bool:
            found = next(iter(record.values()))
            keys = {t["Key"] for t in found.get("Tags") or []}
            tests = [
                (f["Name"][len("Tags.") :] in keys) == (f["Operator"] == "Exists") for f in presence
            ]
            return combine(tests) if tests else True

        result["Results"] = [r for r in result["Results"] if keep(r)]
        return result

    def paged_search(self: SageMakerResponse) -> ActionResult:
        result = self.sagemaker_backend.search(
            resource=self._get_param("Resource"),
            search_expression=self._get_param("SearchExpression"),
        )
        size = min(int(self._get_param("MaxResults") or _DEFAULT_PAGE), _LARGEST_PAGE)
        start = int(self._get_param("NextToken") or 0)
        everything = result["Results"]
        result["Results"] = everything[start : start + size]
        result["NextToken"] = str(start + size) if start + size < len(everything) else None
        return ActionResult(result)

    SageMakerModelBackend.search = search_with_presence
    SageMakerResponse.search = paged_search
