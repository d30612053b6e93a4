"""Helpers shared by the init tests: schema validation and the CLI runner."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
from check_jsonschema.builtin_schemas import get_builtin_schema
from ruamel.yaml import YAML


@functools.cache
def _validator() -> Any:
    # The vendored copy inside check-jsonschema, never the network.
    schema = get_builtin_schema("vendor.gitlab-ci")
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def schema_errors(text: str) -> list[str]:
    data = YAML(typ="safe").load(text)
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in _validator().iter_errors(data)]
