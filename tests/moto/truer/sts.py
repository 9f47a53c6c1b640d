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
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  ArnEquals, ArnLike: "Each of the six colon-delimited components of the ARN is checked
  separately and each can include multi-character match wildcards (*) or single-character match
  wildcards (?)". StringLike: the same two wildcards, nothing else.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  An account principal ("123456789012" or its ":root" ARN) admits every principal of that
  account; a role ARN admits that role's sessions.

moto lets anyone assume any role, even one that does not exist, in any account (its own note:
"the role does not need to exist"). Here the role must exist under exactly the ARN asked for (its
path included), and an Allow statement of its trust policy must admit the caller, with no Deny
that does. A statement is judged match, no match, or not modelled: conditions on keys other than
sts:ExternalId, aws:PrincipalArn and aws:PrincipalAccount, operators other than StringEquals,
StringLike, ArnEquals and ArnLike, NotAction and NotPrincipal are not modelled. A statement not
modelled admits nobody as an Allow and refuses everybody as a Deny, so a test meets a refusal
rather than a pass AWS might not give. The caller's own identity policy (which AWS also asks for
sts:AssumeRole across accounts) is not evaluated: moto keeps none that sagetide's tests write.
Refused, AWS answers AccessDenied naming caller and role; moto answers it with HTTP 400, not
AWS's 403 (its serializer takes the status from STS's model, which has no AccessDenied shape).
"""

import json
import re
from enum import Enum
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

_KEYS = ("sts:externalid", "aws:principalarn", "aws:principalaccount")


class Judged(Enum):
    MATCH = "match"
    NO_MATCH = "no match"
    NOT_MODELLED = "not modelled"


def _role(partition: str, account: str, arn: str) -> Any:
    for role in iam_backends[account][partition].get_roles():
        if role.arn == arn:
            return role
    return None


def _caller(response: TokenResponse) -> tuple[str, str, str]:
    """The caller's account, its ARN as AWS names it in a refusal, and aws:PrincipalArn (for a
    session, its role's ARN with the role's path)."""
    account, partition = response.current_account, response.partition
    key = response.get_access_key()
    session = sts_backends[account][partition].get_assumed_role_from_access_key(key)
    if session is not None:
        # Assumed only under its exact ARN (below), so this finds it.
        role = _role(partition, session.account_id, session.role_arn)
        principal = role.arn if role is not None else session.role_arn
        return session.account_id, session.arn, principal
    user = iam_backends[account][partition].get_user_from_access_key_id(key)
    if user is not None:
        return account, user.arn, user.arn
    return account, f"arn:{partition}:sts::{account}:user/moto", f"arn:{partition}:iam::{account}:user/moto"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcards(pattern: str, value: str) -> bool:
    """`*` any run of characters, `?` any one; everything else literally."""
    expression = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    return re.fullmatch(expression, value, re.DOTALL) is not None


def _arn(pattern: str, arn: str) -> bool:
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    return len(parts) == len(values) == 6 and all(
        _wildcards(p, v) for p, v in zip(parts, values)
    )


_OPERATORS = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": _wildcards,
    "ArnEquals": _arn,
    "ArnLike": _arn,
}


def _judge(
    statement: dict[str, Any], partition: str, account: str, context: dict[str, str]
) -> Judged:
    if "NotAction" in statement or "NotPrincipal" in statement:
        return Judged.NOT_MODELLED
    if not any(
        _wildcards(a.lower(), "sts:assumerole") for a in _listed(statement.get("Action", []))
    ):
        return Judged.NO_MATCH
    principal = statement.get("Principal", {})
    named = _listed(principal) if isinstance(principal, str) else _listed(principal.get("AWS", []))
    admitted = ("*", account, f"arn:{partition}:iam::{account}:root", context["aws:principalarn"])
    if not any(p in admitted for p in named):
        return Judged.NO_MATCH
    for operator, keys in statement.get("Condition", {}).items():
        test = _OPERATORS.get(operator)
        for key, patterns in keys.items():
            if test is None or key.lower() not in _KEYS:
                return Judged.NOT_MODELLED
            value = context.get(key.lower())
            if value is None or not any(test(p, value) for p in _listed(patterns)):
                return Judged.NO_MATCH
    return Judged.MATCH


def _refusal(self: TokenResponse) -> STSClientError | None:
    """AWS's AccessDenied for this request, or None if the role's trust admits the caller."""
    role_arn = self._get_param("RoleArn")
    partition = self.partition
    account, caller, principal = _caller(self)
    parts = role_arn.split(":")
    role = _role(partition, parts[4], role_arn) if len(parts) >= 6 else None
    context = {"aws:principalarn": principal, "aws:principalaccount": account}
    if self._get_param("ExternalId") is not None:
        context["sts:externalid"] = self._get_param("ExternalId")
    statements = []
    if role is not None:
        statements = _listed(json.loads(role.assume_role_policy_document).get("Statement", []))
    judged = [(s.get("Effect"), _judge(s, partition, account, context)) for s in statements]
    allowed = any(effect == "Allow" and j is Judged.MATCH for effect, j in judged)
    denied = any(effect == "Deny" and j is not Judged.NO_MATCH for effect, j in judged)
    if allowed and not denied:
        return None
    return STSClientError(
        "AccessDenied",
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )


def install() -> None:
    assume = TokenResponse.assume_role

    def assume_if_trusted(self: TokenResponse) -> Any:
        refusal = _refusal(self)
        if refusal is not None:
            raise refusal
        return assume(self)

    TokenResponse.assume_role = assume_if_trusted
