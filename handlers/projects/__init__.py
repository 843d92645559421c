"""Projects and programmes, one module per capability: proposing (drafts, /my_projects),
review (committees, the council's vote), work (plan, reports, deadlines), consortium (the card,
browsing, following, participants and stakes), documents (passport, exports, programmes)."""
