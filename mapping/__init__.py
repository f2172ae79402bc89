"""destkit's mapping language: source paths, constants, sandboxed templates and transforms,
checked against an action's fields and compiled once into a plain function; and JSON read fast
and exactly as Python's json reads it (`json_exact`, which the runtime's readers use too)."""

from destkit.mapping.compiler import CompiledMapping, FieldShape, compile_mapping
from destkit.mapping.errors import (
    DestkitError,
    MappingConfigError,
    MappingIssue,
    MappingReason,
    RecordError,
    TransformError,
)
from destkit.mapping.templates import Template, TemplateError, render_once
from destkit.mapping.transforms import TRANSFORMS, build_transform

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "DestkitError",
    "FieldShape",
    "MappingConfigError",
    "MappingIssue",
    "MappingReason",
    "RecordError",
    "Template",
    "TemplateError",
    "TransformError",
    "build_transform",
    "compile_mapping",
    "render_once",
]
