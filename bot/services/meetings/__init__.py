"""Meetings: conferences, council sessions and the meetings of committees.

access.py     who may organize, keep the minutes of, see a meeting; the viewer's flags
rules.py      statuses and the moves between them; checks on what an organizer types
core.py       create a draft, its agenda and guests; publish, change, cancel
roll.py       who is invited: the body's members, the council and the delegates, guests
rotation.py   which district should host the next conference, and why
calendar.py   the .ics file every notice carries
convening.py  the decision that convenes a conference: the council's vote or the presidium's
notify.py     the notices of a meeting (published, changed, cancelled) through the delivery engine
answers.py    an invitee's answer (I'll come / I can't / maybe)
delegates.py  a member organization names its conference delegates
forecast.py   the organizers' overview of the answers, the quorum forecast and its check
yearly.py     the yearly rule: a conference at least once a year, reminded weekly when overdue
"""
