"""The Concept's district-majority rule: in a district's programme the participants from that
district hold the controlling stake of each project, strictly more than half of the value the
consortium's active participants contribute.

Stakes are the values (roubles) of the contributions of ACTIVE participants. The rule applies
only to a project in a programme that has a district; a city-wide programme, or a project in no
programme, has none. While nothing valued is contributed (total 0) there is nothing to check.

A change is judged by comparing the stakes before and after it: one that leaves the district
without control when it had it, or widens the others' lead, is refused (`MinorityRefused`), unless
the council allowed a minority in this programme (`Programme.minority_allowed`): then it is made
and the person is warned. In a state already broken (the rule came after the contributions), a
change that narrows the others' lead, or leaves it as it is, is allowed: it repairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from models.projects import (
    ParticipantStatus,
    Programme,
    Project,
    ProjectContribution,
    ProjectParticipant,
)


class MinorityRefused(DomainError):
    """The change would leave the district's participants without the controlling stake."""

    key = "projects-team-minority-refused"


@dataclass(frozen=True)
class Stakes:
    """The consortium's stakes: each active participant's total value, and which of them count
    for the programme's district."""

    # The district whose participants must control; None when the rule does not apply.
    district_id: int | None
    minority_allowed: bool
    values: dict[int, int]  # active participant id -> the value of its contributions
    local: frozenset[int]  # active participants from the programme's district

    @property
    def applies(self) -> bool:
        """The project is in a district's programme."""
        return self.district_id is not None

    @property
    def total(self) -> int:
        """The value of every active participant's contributions."""
        return sum(self.values.values())

    @property
    def district_value(self) -> int:
        """The value the district's participants contribute."""
        return sum(value for pid, value in self.values.items() if pid in self.local)

    @property
    def share(self) -> Fraction | None:
        """The district's share of the total; None when nothing valued is contributed."""
        total = self.total
        return Fraction(self.district_value, total) if total > 0 else None

    @property
    def controlling(self) -> bool:
        """The rule holds: it does not apply, nothing is valued yet, or more than half."""
        share = self.share
        return not self.applies or share is None or share > Fraction(1, 2)

    def participant_share(self, participant_id: int) -> Fraction | None:
        """One participant's share of the total; None when nothing is valued."""
        total = self.total
        if total <= 0 or participant_id not in self.values:
            return None
        return Fraction(self.values[participant_id], total)

    def with_value(self, participant_id: int, value: int, *, local: bool | None = None) -> Stakes:
        """The stakes with this participant active and contributing `value` in all."""
        values = {**self.values, participant_id: value}
        members = set(self.local)
        if local is True:
            members.add(participant_id)
        elif local is False:
            members.discard(participant_id)
        return replace(self, values=values, local=frozenset(members))

    def without(self, participant_id: int) -> Stakes:
        """The stakes once this participant is no longer active."""
        values = {pid: v for pid, v in self.values.items() if pid != participant_id}
        return replace(self, values=values, local=self.local - {participant_id})


def percent(share: Fraction | None) -> str:
    """A share as people read it: "50%", "66.7%"; "—" when there is none."""
    if share is None:
        return "—"
    value = round(float(share) * 100, 1)
    return f"{value:g}%"


async def rule_district(session: AsyncSession, project: Project) -> tuple[int | None, bool]:
    """(the district whose participants must control, whether the council allowed a minority)."""
    if project.programme_id is None:
        return None, False
    programme = await session.get(Programme, project.programme_id)
    if programme is None or programme.district_id is None:
        return None, False
    return programme.district_id, programme.minority_allowed


async def compute(session: AsyncSession, project: Project) -> Stakes:
    """The project's stakes as they are now."""
    district_id, minority_allowed = await rule_district(session, project)
    rows = (
        await session.execute(
            select(
                ProjectParticipant.id,
                ProjectParticipant.district_id,
                func.coalesce(func.sum(ProjectContribution.value), 0),
            )
            .outerjoin(
                ProjectContribution, ProjectContribution.participant_id == ProjectParticipant.id
            )
            .where(
                ProjectParticipant.project_id == project.id,
                ProjectParticipant.status == ParticipantStatus.ACTIVE,
            )
            .group_by(ProjectParticipant.id, ProjectParticipant.district_id)
        )
    ).all()
    values = {pid: int(total) for pid, _, total in rows}
    local = frozenset(
        pid for pid, district, _ in rows if district_id is not None and district == district_id
    )
    return Stakes(district_id, minority_allowed, values, local)


def is_local(stakes: Stakes, participant: ProjectParticipant) -> bool:
    """The participant counts for the programme's district."""
    return stakes.applies and participant.district_id == stakes.district_id


def gap(value: Stakes) -> int:
    """How far the others' value exceeds the district's (the rule holds while it is below 0)."""
    return value.total - 2 * value.district_value


def worse(before: Stakes, after: Stakes) -> bool:
    """The change leaves the district without control and widens the others' lead."""
    if after.controlling:
        return False
    if before.controlling:
        return True
    # Both broken: a change that narrows the others' lead (or keeps it) repairs, at least in part.
    return gap(after) > gap(before)


def judge(before: Stakes, after: Stakes) -> bool:
    """Whether the change may be made: raises MinorityRefused when it breaks the rule; returns
    True when it is allowed only because the council allowed a minority (warn the person)."""
    if not worse(before, after):
        return False
    if after.minority_allowed:
        return True
    raise MinorityRefused(share=percent(after.share), before=percent(before.share))
