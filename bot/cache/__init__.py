"""What every update needs, kept in the process between updates: the person behind it (their row,
roles and district) and, with the FSM in the database, their conversation state.

`people` holds the cache; `tracking` notices, through the ORM's session events, every committed
change to what it holds, drops it here and, on PostgreSQL, tells the other processes (NOTIFY);
`listener` hears those in each process that serves updates.
"""
