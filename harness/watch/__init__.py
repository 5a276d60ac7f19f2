"""``ccharness watch``: the suite on a schedule against a staging platform, hooks on a change."""
