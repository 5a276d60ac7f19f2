"""``ccharness history``: the runs filed in the ledger, per scenario, as trends and a page."""
