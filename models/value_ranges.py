"""Range checks of a settings dataclass: one rule per field, every bad value named in one error.

`models.classifier.recipe.Recipe` and `models.export.settings.ExportSettings` check themselves with it when they
are built, so a bad `--set` value stops a run before it starts, with the field, what it allows and what it got.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, Tuple

# (field, test of its value, what the field allows, as the error words it)
Rule = Tuple[str, Callable[[Any], bool], str]


def refuse_out_of_range(values: Any, section: str, rules: Sequence[Rule]) -> None:
    """Raises ValueError with "section.field must be <allowed>, got <value>" for every field of `values` that
    fails its rule (joined by "; "); returns quietly when all pass."""
    problems = [f"{section}.{name} must be {allowed}, got {getattr(values, name)!r}"
                for name, ok, allowed in rules if not ok(getattr(values, name))]
    if problems:
        raise ValueError("; ".join(problems))
