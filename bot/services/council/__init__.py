"""The council (ГОС) as the Regulations compose it (item 4): each category of seat is a rule,
checked whenever someone is seated (`check_seat`, called by `bodies.seat` for the Secretariat and
for the bot alike), and the records the rules rest on, kept by the Secretariat.

- a base organization's seat: a representative of the organization designated as some district's
  base organization (`District.base_organization_id`); designating another moves the seat;
- a city-wide structure's seat: a representative of an organization with a living city-wide
  designation (local government's act, typed as its basis); revoking it ends the seat;
- a co-chair: the recorded holder of one of the two offices; a new holder moves the seat;
- a personally elected member: a winner of a closed conference election, for a term;
- an honorary citizen: by status, with an optional basis;
- the presidium: appointed by the council, so a seat there needs the council's adopted vote.

One seat per organization and per office: seating another representative hands the seat over.
"""

from bot.services.council.composition import Composition, SeatLine, composition, members
from bot.services.council.designations import (
    CitywideLine,
    OfficeLine,
    base_moved,
    citywide_candidate,
    citywide_candidates,
    citywide_page,
    citywide_record,
    clear_office,
    designate_citywide,
    hand_over,
    office_to_clear,
    offices,
    revoke_citywide,
    set_office_holder,
)
from bot.services.council.rules import (
    BASIS_MAX,
    CATEGORY_ORDER,
    ELECTION_SUBJECT,
    ORGANIZATION_SEATS,
    PER_PAGE,
    SeatRule,
    base_district,
    check_seat,
    citywide_designation,
    clean_basis,
    council_decision,
    election,
    eligible_offices,
    eligible_organizations,
    held_office,
    office_designation,
    parse_vote_number,
    seat_organization,
    seats,
)

__all__ = [
    "BASIS_MAX",
    "CATEGORY_ORDER",
    "ELECTION_SUBJECT",
    "ORGANIZATION_SEATS",
    "PER_PAGE",
    "CitywideLine",
    "Composition",
    "OfficeLine",
    "SeatLine",
    "SeatRule",
    "base_district",
    "base_moved",
    "check_seat",
    "citywide_candidate",
    "citywide_candidates",
    "citywide_designation",
    "citywide_page",
    "citywide_record",
    "clean_basis",
    "clear_office",
    "composition",
    "council_decision",
    "designate_citywide",
    "election",
    "eligible_offices",
    "eligible_organizations",
    "hand_over",
    "held_office",
    "members",
    "office_designation",
    "office_to_clear",
    "offices",
    "parse_vote_number",
    "revoke_citywide",
    "seat_organization",
    "seats",
    "set_office_holder",
]
