"""The base of every API model, and cross-field rules that hold twice: in the CRD and in Python.

A rule is written once, as a CEL expression for the API server and a Python predicate for the CLI
and the operator, with one message and the field it names. The CRD generator emits the CEL half
(with `fieldPath`, so the API server's error names the field); the model validator below runs the
Python half. Tests check both halves against the same invalid manifests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

RULE_ERROR_TYPE = "openbao_rule"


@dataclass(frozen=True)
class Rule:
    """A cross-field rule of one object: `cel` for admission, `check` for Python, same meaning."""

    cel: str
    """CEL over `self`, the object the rule is attached to; true means valid."""
    check: Callable[[Any], bool]
    """The Python twin of `cel`: called with the model instance, True means valid."""
    message: str
    """What is wrong and what to do, without the field path (that is added by whoever reports it)."""
    field: str = ""
    """Dotted JSON path, relative to the object, of the field the error names ("" is the object)."""

    @property
    def field_path(self) -> str:
        """The CRD `fieldPath` form of `field` (".acme" or "" for the object itself)."""
        return f".{self.field}" if self.field else ""


class ApiModel(BaseModel):
    """Base of the CR models: camelCase JSON names, unknown fields rejected, immutable after parse."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in type(self).rules:
            if not rule.check(self):
                raise PydanticCustomError(
                    RULE_ERROR_TYPE,
                    "{message}",
                    {"message": rule.message, "field": rule.field},
                )
        return self

    def to_json(self) -> dict[str, Any]:
        """The manifest form: JSON names, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
