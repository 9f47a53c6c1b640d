"""STS AssumeRole: only a role that exists, only for a caller its trust policy admits.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  "The trust policy of the role that is being assumed ... specifies who can assume the role."
  "To assume a role from a different account, your Amazon Web Services account must be trusted by
  the role. The trust relationship is defined in the role's trust policy when the role is
  created."
  ExternalId: "the value that the administrator of the trusted account provided ... in the
  trust policy's sts:ExternalId condition".
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  aws:PrincipalArn: "For IAM roles, the request context returns the ARN of the role, not the ARN
  of the user that assumed the role", with its path.
  ArnLike: "Each of the six colon-delimited components of the ARN is checked separately".
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  An account principal ("123456789012" or its ":root" ARN) admits every principal of that
  account; a role ARN admits that role's sessions.

moto lets anyone assume any role, even one that does not exist, in any account (its own note:
"the role does not need to exist"). Here the role must exist in the account its ARN names, and
an Allow statement of its trust policy for sts:AssumeRole must name the caller (its account, its
ARN, or "*"), with every condition met; a matching Deny refuses. Conditions on other keys, and
operators other than StringEquals, StringLike, ArnEquals and ArnLike, are not modelled: a
statement with one admits nobody, so a test meets a refusal rather than a pass AWS might not
give. The caller's own identity policy (which AWS also asks for sts:AssumeRole across accounts)
is not evaluated: moto keeps no policies of the caller's that sagetide's tests write. Refused,
AWS answers AccessDenied, naming caller and role.
"""

import fnmatch
import json
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

_ACTIONS = ("sts:assumerole", "sts:*", "*")


def _role(account: str, name: str) -> Any:
    for role in iam_backends[account]["aws"].get_roles():
        if role.name == name:
            return role
    return None


def _caller(response: TokenResponse) -> tuple[str, str]:
    """The caller's account and principal ARN (a session's role ARN, with its path)."""
    account = response.current_account
    key = response.get_access_key()
    session = sts_backends[account]["aws"].get_assumed_role_from_access_key(key)
    if session is not None:
        name = session.role_arn.rsplit("/", 1)[-1]
        role = _role(session.account_id, name)
        return session.account_id, role.arn if role is not None else session.role_arn
    user = iam_backends[account]["aws"].get_user_from_access_key_id(key)
    if user is not None:
        return account, user.arn
    return account, f"arn:aws:iam::{account}:user/moto"


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _arn_like(pattern: str, arn: str) -> bool:
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    return len(parts) == len(values) == 6 and all(
        fnmatch.fnmatchcase(v, p) for p, v in zip(parts, values)
    )


_OPERATORS = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": lambda pattern, value: fnmatch.fnmatchcase(value, pattern),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": _arn_like,
}


def _admits(statement: dict[str, Any], account: str, arn: str, context: dict[str, str]) -> bool:
    if not any(a.lower() in _ACTIONS for a in _listed(statement.get("Action", []))):
        return False
    principal = statement.get("Principal", {})
    named = ["*"] if principal == "*" else _listed(principal.get("AWS", []))
    if not any(p in ("*", account, f"arn:aws:iam::{account}:root", arn) for p in named):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        test = _OPERATORS.get(operator)
        for key, patterns in keys.items():
            value = context.get(key.lower())
            if test is None or value is None:
                return False
            if not any(test(pattern, value) for pattern in _listed(patterns)):
                return False
    return True


def _refusal(self: TokenResponse) -> STSClientError | None:
    """AWS's AccessDenied for this request, or None if the role's trust admits the caller."""
    role_arn = self._get_param("RoleArn")
    account, arn = _caller(self)
    target = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    role = _role(target, role_arn.rsplit("/", 1)[-1]) if target else None
    context = {"aws:principalarn": arn, "aws:principalaccount": account}
    if self._get_param("ExternalId") is not None:
        context["sts:externalid"] = self._get_param("ExternalId")
    statements = []
    if role is not None:
        statements = _listed(json.loads(role.assume_role_policy_document).get("Statement", []))
    matching = [s for s in statements if _admits(s, account, arn, context)]
    if any(s.get("Effect") == "Allow" for s in matching) and not any(
        s.get("Effect") == "Deny" for s in matching
    ):
        return None
    return STSClientError(
        "AccessDenied",
        f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )


def install() -> None:
    assume = TokenResponse.assume_role

    def assume_if_trusted(self: TokenResponse) -> Any:
        refusal = _refusal(self)
        if refusal is not None:
            raise refusal
        return assume(self)

    TokenResponse.assume_role = assume_if_trusted
