"""Promotion and rollback on the registry: `production` is an MLflow alias that `promote` moves
after the gate (`promotion_gate.evaluate_gate`, configs/promotion.yaml) and records who, when,
why and which version it replaced, so `rollback` can walk the chain back. `Registry`
(tracking.py) mixes these in; they use its client and version lookups."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from health_training.constants import APPROVED_BY_TAG, PREVIOUS_PRODUCTION_TAG, PRODUCTION
from health_training.ml.registry.aliases import set_alias

if TYPE_CHECKING:
    from health_training.ml.registry.promotion_gate import GateDecision

HISTORY_TAG = "promotion.history"
HISTORY_KEEP = 50  # events kept in the registered-model tag; version tags keep the full chain


class GateRefused(ValueError):
    """A promotion the gate refused; callers say how *they* override it (CLI --force, op config)."""


class NothingToRollBack(ValueError):
    """`production` is unset, or replaced no earlier version."""


class Promotions:
    """`promote` and `rollback` for `Registry`, which provides `client`, `model_name`,
    `version`, `production_version` and `set_version_tags`."""

    client: Any
    model_name: str

    def _append_history(self, event: dict[str, str]) -> None:
        model = self.client.get_registered_model(self.model_name)
        history = json.loads(model.tags.get(HISTORY_TAG, "[]"))
        history.append(event)
        self.client.set_registered_model_tag(
            self.model_name, HISTORY_TAG, json.dumps(history[-HISTORY_KEEP:])
        )

    def promote(
        self,
        version: str,
        *,
        approved_by: str,
        reason: str,
        decision: GateDecision | None,
        now: str,
        force: bool = False,
    ) -> None:
        """Move `production` to `version`, recording approval, gate result and the replaced
        version. A failed gate refuses unless `force=True` (a person overriding it, on the
        record). Promoting the version that is already production changes nothing."""
        version, name = str(version), self.model_name
        if decision is not None and not decision.passed and not force:
            raise GateRefused(
                f"{name} v{version} failed the promotion gate: {'; '.join(decision.reasons)}"
                " (force the promotion to override it, on the record)"
            )
        self.version(version)  # fails clearly if the version does not exist
        current = self.production_version()
        if current is not None and str(current.version) == version:
            return
        previous = str(current.version) if current is not None else ""
        self.set_version_tags(
            version,
            {
                APPROVED_BY_TAG: approved_by,
                "promotion.at": now,
                "promotion.reason": reason,
                "promotion.gate_passed": "not evaluated"
                if decision is None
                else str(decision.passed),
                "promotion.scores": "{}" if decision is None else decision.to_json(),
                PREVIOUS_PRODUCTION_TAG: previous,
                "promotion.forced": str(force and decision is not None and not decision.passed),
            },
        )
        # The alias moves last: until then serving still resolves to the old version.
        set_alias(self.client, name, PRODUCTION, version)
        self._append_history(
            {"action": "promote", "version": version, "replaced": previous, "by": approved_by}
            | {"at": now, "reason": reason}
        )

    def rollback(self, *, by: str, reason: str, now: str) -> str:
        """Point `production` back at the version the current one replaced; returns it."""
        name = self.model_name
        current = self.production_version()
        if current is None:
            raise NothingToRollBack(f"{name} has no '{PRODUCTION}' alias: nothing to roll back")
        current_v = str(current.version)
        previous = current.tags.get(PREVIOUS_PRODUCTION_TAG, "")
        if not previous:
            raise NothingToRollBack(
                f"{name} v{current_v} is production but replaced no earlier version:"
                " nothing to roll back to (promote a specific version instead)"
            )
        self.version(previous)  # fails clearly if it was deleted
        self.set_version_tags(
            current_v,
            {
                "rollback.at": now,
                "rollback.by": by,
                "rollback.reason": reason,
                "rollback.restored": previous,
            },
        )
        self.set_version_tags(
            previous,
            {
                "rollback.restored_at": now,
                "rollback.restored_by": by,
                "rollback.restored_from": current_v,
            },
        )
        set_alias(self.client, name, PRODUCTION, previous)
        self._append_history(
            {"action": "rollback", "version": previous, "replaced": current_v, "by": by}
            | {"at": now, "reason": reason}
        )
        return previous
