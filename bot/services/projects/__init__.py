"""Projects and programmes: proposing (drafts), review and decision, the work plan and reports,
the consortium and its stakes, browsing, documents.

The modules: `rules` (statuses and transitions), `access` (who may do what), `lifecycle`
(moving a project between statuses, with its history and notices), `notices` (who hears of a
project), `stakes` (the district-majority rule); the capabilities' own modules build on these.
"""
