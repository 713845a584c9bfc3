"""What every framework was asked to do, and what it says it did.

A speed comparison is only fair if the recipe is the same and the frameworks ran under the same
threads, precision and TF32 setting. This module lays out the recipes and the adapters'
manifests, and names any setting on which the frameworks disagree, so the page can flag it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bench.report import fmt
from bench.report.cells import Run, framework_order
from bench.report.precision_view import label

#: Manifest fields that must agree across frameworks for the timings to be comparable.
MUST_AGREE = ("threads_intra", "threads_inter", "precision", "tf32")
#: Manifest fields in display order (others found in a manifest follow, alphabetically).
MANIFEST_FIELDS = (
    "threads_intra",
    "threads_inter",
    "precision",
    "tf32",
    "compile",
    "deterministic",
    "layout",
    "device",
    "versions",
    "notes",
)
_RECIPE_FIELDS = (
    "optimizer",
    "lr",
    "batch_size",
    "steps",
    "schedule",
    "weight_decay",
    "eval_every",
    "warmup_steps",
)


@dataclass(frozen=True)
class RecipeView:
    rows: list[tuple[str, str]]  # (setting, value), every optimizer argument spelled out
    cells: list[str]  # the cell keys that used it


@dataclass(frozen=True)
class Fairness:
    recipes: list[RecipeView]
    seeds: str
    manifest_fields: list[str]
    manifests: list[tuple[str, list[str]]]  # (framework, one value per manifest field)
    disagreements: list[tuple[str, str]]  # (field, "torch 2, tf 4")
    settings: list[tuple[str, str]] = field(default_factory=list)  # env.json "settings"


def fairness(run: Run) -> Fairness:
    return Fairness(
        recipes=_recipes(run),
        seeds=", ".join(sorted({fmt.text(r.get("seed")) for r in run.records})) or fmt.DASH,
        manifest_fields=_manifest_fields(run),
        manifests=_manifests(run),
        disagreements=disagreements(run),
        settings=[(k, fmt.text(v)) for k, v in (run.env.get("settings") or {}).items()]
        if isinstance(run.env.get("settings"), dict)
        else [],
    )


def _recipes(run: Run) -> list[RecipeView]:
    """Distinct recipes with the cells using each (one, in a normal run)."""
    by_recipe: dict[str, list[str]] = {}
    recipes: dict[str, dict[str, Any]] = {}
    for r in run.records:
        recipe = r.get("recipe") if isinstance(r.get("recipe"), dict) else {}
        key = json.dumps(recipe, sort_keys=True, default=str)
        recipes[key] = recipe
        by_recipe.setdefault(key, []).append(str(r["key"]))
    return [RecipeView(_recipe_rows(recipes[k]), keys) for k, keys in by_recipe.items()]


def _recipe_rows(recipe: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(name, fmt.text(recipe.get(name))) for name in _RECIPE_FIELDS]
    for group in ("optimizer_args", "schedule_args"):
        args = recipe.get(group)
        if isinstance(args, dict) and args:
            rows += [(f"{group}.{k}", fmt.text(v)) for k, v in args.items()]
        else:
            rows.append((group, "none" if isinstance(args, dict) else fmt.DASH))
    known = set(_RECIPE_FIELDS) | {"optimizer_args", "schedule_args"}
    rows += [(k, fmt.text(v)) for k, v in recipe.items() if k not in known]
    return rows


def _framework_manifests(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Each framework's distinct manifests (normally one per framework)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(run.records, key=lambda r: framework_order(str(r["framework"]))):
        manifest = r.get("manifest")
        if not isinstance(manifest, dict) or not manifest:
            continue
        seen = out.setdefault(label(r), [])  # "torch@bf16": one row per precision
        if manifest not in seen:
            seen.append(manifest)
    return out


def _manifest_fields(run: Run) -> list[str]:
    found = {k for ms in _framework_manifests(run).values() for m in ms for k in m}
    return list(MANIFEST_FIELDS) + sorted(found - set(MANIFEST_FIELDS))


def _manifests(run: Run) -> list[tuple[str, list[str]]]:
    fields = _manifest_fields(run)
    rows = []
    for framework, manifests in _framework_manifests(run).items():
        for m in manifests:
            rows.append((framework, [fmt.text(m.get(f)) for f in fields]))
    return rows


def disagreements(run: Run) -> list[tuple[str, str]]:
    """Settings in :data:`MUST_AGREE` on which the frameworks' manifests differ."""
    manifests = _framework_manifests(run)
    out = []
    for name in MUST_AGREE:
        # a run of several precisions differs in precision by design: agree within each one
        by_precision: dict[str, set[str]] = {}
        for fw, ms in manifests.items():
            for m in ms:
                values = by_precision.setdefault(fw.split("@")[1] if "@" in fw else "fp32", set())
                values.add(json.dumps(m.get(name), default=str))
        if any(len(values) > 1 for values in by_precision.values()):
            shown = ", ".join(
                f"{fw} {' / '.join(fmt.text(m.get(name)) for m in ms)}"
                for fw, ms in manifests.items()
            )
            out.append((name, shown))
    return out
