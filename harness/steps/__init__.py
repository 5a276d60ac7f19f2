"""The scenario step kinds: one module per kind, listed in ``harness.steps.registry``."""
