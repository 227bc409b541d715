"""After-sales policies that explain themselves (AS-2..AS-4): an ordered list of rules.

A :class:`Policy` is the host's rules (code) and the shop's
:class:`~orderflow.aftersales.PolicySettings` (data). :meth:`Policy.decide` runs every rule
on a request in order and folds their verdicts into a
:class:`~orderflow.aftersales.Decision`: allowed, denied or manual review, the rule that
decided, a sentence for the customer, the facts used, every verdict, the amount and who
pays the return shipping.

An order carries a :class:`PolicySnapshot` of the settings in force when it was placed (and
the ids of the rules, for the record). :meth:`Policy.for_snapshot` rebuilds the policy for
such an order: the same rules, the snapshot's settings. So a later change of settings never
reaches orders already placed, while a change of the rules (the host's code) reaches every
order once deployed.

This module also gathers the names of the policy layer (requests, verdicts, settings,
windows), so that ``from orderflow.aftersales.policy import ...`` finds them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import attrs

from orderflow.aftersales.configuration import CategoryPolicy, PolicySettings, ResponseAction
from orderflow.aftersales.decisions import (
    Decision,
    Fact,
    Rule,
    Ruling,
    Verdict,
    return_shipping_payer,
)
from orderflow.aftersales.requests import RequestedLine, RequestFacts
from orderflow.aftersales.rules import DEFAULT_RULES
from orderflow.aftersales.windows import WindowMode, window_end
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.inputs import check_identifier

__all__ = [
    "DEFAULT_RULES",
    "POLICY_RULE_ID",
    "CategoryPolicy",
    "Decision",
    "Policy",
    "PolicySettings",
    "PolicySnapshot",
    "RequestFacts",
    "RequestedLine",
    "ResponseAction",
    "Rule",
    "Ruling",
    "Verdict",
    "WindowMode",
    "window_end",
]

POLICY_RULE_ID: Final = "AS-4"
"""The id a decision names when no rule applied to the request: the policy itself."""
_MOST_RULES: Final = 200


def _snapshot_ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration("policy.rule_ids", value, "must be a sequence of rule ids")
    return _rule_ids(value, "policy.rule_ids")


def _rule_ids(value: Iterable[str], setting: str) -> tuple[str, ...]:
    ids: list[str] = []
    for rule_id in value:
        try:
            check_identifier("rule_id", rule_id)
        except InvalidInput as error:
            raise InvalidConfiguration(setting, rule_id, error.problem) from None
        if rule_id in ids:
            raise InvalidConfiguration(setting, rule_id, "names a rule twice")
        ids.append(rule_id)
        if len(ids) > _MOST_RULES:
            raise InvalidConfiguration(setting, len(ids), f"at most {_MOST_RULES} rules")
    return tuple(ids)


def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration("policy.rules", value, "must be a sequence of rules")
    rules = tuple(value)
    for index, rule in enumerate(rules):
        if not isinstance(rule, Rule) or not callable(rule.decide):
            raise InvalidConfiguration(
                f"policy.rules[{index}]", rule, "a rule has a rule_id and a decide method"
            )
    _rule_ids((rule.rule_id for rule in rules), "policy.rules")
    return rules


def _settings(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, PolicySettings):
        raise InvalidConfiguration("policy.settings", value, "must be PolicySettings")


@attrs.frozen
class PolicySnapshot:
    """The policy in force when an order was placed: what the order carries.

    Attributes:
        settings: the settings in force (with their version and the shop's time zone).
        rule_ids: the ids of the rules in force, in order, for the record.

    Raises:
        InvalidConfiguration: settings that are not :class:`PolicySettings`, rule ids that
            are blank, overlong or repeated.
    """

    settings: PolicySettings = attrs.field(validator=_settings)
    rule_ids: tuple[str, ...] = attrs.field(converter=_snapshot_ids)

    @property
    def version(self) -> str:
        """The version of the settings."""
        return self.settings.version


@attrs.frozen
class Policy:
    """An ordered list of rules and the settings they read (AS-2..AS-4).

    Policies are immutable: :meth:`with_rule`, :meth:`without` and :meth:`replacing` return
    new ones, so a host adds, removes or replaces rules without touching the library.

    Attributes:
        rules: the rules, in the order they are asked.
        settings: the shop's settings.

    Raises:
        InvalidConfiguration: an object that is not a rule (a ``rule_id`` and a ``decide``
            method), a blank or repeated rule id, more than 200 rules, settings that are not
            :class:`PolicySettings`.
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_rules)
    settings: PolicySettings = attrs.field(factory=PolicySettings, validator=_settings)

    @classmethod
    def default(cls, settings: PolicySettings | None = None) -> Policy:
        """The default policy (:data:`DEFAULT_RULES`) with these settings (or the defaults).

        Raises:
            InvalidConfiguration: settings that are not :class:`PolicySettings`.
        """
        return cls(DEFAULT_RULES, PolicySettings() if settings is None else settings)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of the rules, in order."""
        return tuple(rule.rule_id for rule in self.rules)

    def _index(self, rule_id: str, setting: str) -> int:
        for index, rule in enumerate(self.rules):
            if rule.rule_id == rule_id:
                return index
        raise InvalidConfiguration(setting, rule_id, "no rule of the policy has this id")

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id.

        Raises:
            InvalidConfiguration: no rule has this id.
        """
        return self.rules[self._index(rule_id, "rule_id")]

    def with_rule(self, rule: Rule, before: str | None = None) -> Policy:
        """A policy with one more rule: last, or just before the rule ``before``.

        Raises:
            InvalidConfiguration: not a rule, its id is taken, or no rule has the id
                ``before``.
        """
        at = len(self.rules) if before is None else self._index(before, "before")
        return Policy((*self.rules[:at], rule, *self.rules[at:]), self.settings)

    def without(self, rule_id: str) -> Policy:
        """A policy without the rule ``rule_id``.

        Raises:
            InvalidConfiguration: no rule has this id.
        """
        at = self._index(rule_id, "rule_id")
        return Policy((*self.rules[:at], *self.rules[at + 1 :]), self.settings)

    def replacing(self, rule_id: str, rule: Rule) -> Policy:
        """A policy with ``rule`` in the place of the rule ``rule_id`` (its id may differ).

        Raises:
            InvalidConfiguration: no rule has the id ``rule_id``, ``rule`` is not a rule, or
                its id is another rule's.
        """
        at = self._index(rule_id, "rule_id")
        return Policy((*self.rules[:at], rule, *self.rules[at + 1 :]), self.settings)

    def with_settings(self, settings: PolicySettings) -> Policy:
        """The same rules with other settings.

        Raises:
            InvalidConfiguration: settings that are not :class:`PolicySettings`.
        """
        return Policy(self.rules, settings)

    def snapshot(self) -> PolicySnapshot:
        """What an order placed now carries: the settings and the ids of the rules."""
        return PolicySnapshot(self.settings, self.rule_ids)

    def for_snapshot(self, snapshot: PolicySnapshot) -> Policy:
        """The policy for an order that carries ``snapshot``: these rules, its settings.

        Rules are code and settings are data: the rules are this policy's (the host's code
        as deployed), the settings the ones in force when the order was placed.

        Raises:
            InvalidConfiguration: not a :class:`PolicySnapshot`.
        """
        if not isinstance(snapshot, PolicySnapshot):
            raise InvalidConfiguration("snapshot", snapshot, "must be a PolicySnapshot")
        return Policy(self.rules, snapshot.settings)

    def decide(self, facts: RequestFacts) -> Decision:
        """Run every rule on a request, in order, and decide (AS-4).

        Denied when any rule denies (the first denying rule decides); else manual when any
        rule asks for a review (the first one decides); else allowed, decided by the window
        rule (the last allowing verdict whose facts hold ``window_ends``) or else the last
        allowing rule; when no rule applies, allowed by the policy itself
        (:data:`POLICY_RULE_ID`), and the seller decides in the case.

        Args:
            facts: the request.

        Returns:
            The decision, with every verdict.

        Raises:
            InvalidInput: ``facts`` is not :class:`RequestFacts`.
            InvalidConfiguration: a rule returned something other than a verdict or
                ``None``, or a verdict with another rule's id.
        """
        if not isinstance(facts, RequestFacts):
            raise InvalidInput("facts", facts, "must be RequestFacts")
        settings = self.settings
        verdicts: list[Verdict] = []
        for rule in self.rules:
            verdict = rule.decide(facts, settings)
            if verdict is None:
                continue
            if verdict.__class__ is not Verdict and not isinstance(verdict, Verdict):
                raise InvalidConfiguration(
                    f"policy.rules[{_position(self.rules, rule)}]",
                    verdict,
                    "decide returns a Verdict or None",
                )
            if verdict.rule_id != rule.rule_id:
                raise InvalidConfiguration(
                    f"policy.rules[{_position(self.rules, rule)}]",
                    verdict.rule_id,
                    "a verdict carries its rule's id",
                )
            verdicts.append(verdict)
        payer = return_shipping_payer(facts.kind, facts.reason.basis)
        deciding = _deciding(verdicts)
        if deciding is None:
            used: dict[str, Fact] = {
                "kind": facts.kind.value,
                "reason": facts.reason.code,
                "requested_at": facts.requested_at.astimezone(settings.zone),
            }
            return Decision(
                Ruling.ALLOWED,
                POLICY_RULE_ID,
                "No rule of the shop's policy limits this request; the seller decides.",
                "",
                FrozenMap(used),
                (),
                facts.amount,
                payer,
                settings.version,
                facts.amount_note,
            )
        return Decision(
            deciding.ruling,
            deciding.rule_id,
            deciding.sentence,
            deciding.hint,
            deciding.facts,
            tuple(verdicts),
            facts.amount,
            payer,
            settings.version,
            facts.amount_note,
        )


def _position(rules: tuple[Rule, ...], rule: Rule) -> int:
    """Where a rule stands in a policy (each rule is there once: the ids are unique)."""
    return next(index for index, item in enumerate(rules) if item is rule)


def _deciding(verdicts: list[Verdict]) -> Verdict | None:
    """The verdict that decides: the first denial, else the first review, else the window."""
    for ruling in (Ruling.DENIED, Ruling.MANUAL):
        for verdict in verdicts:
            if verdict.ruling is ruling:
                return verdict
    for verdict in reversed(verdicts):
        if "window_ends" in verdict.facts:
            return verdict
    return verdicts[-1] if verdicts else None
