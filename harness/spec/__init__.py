"""YAML documents with line marks, checked against a schema data file and by hand.

What scenarios (``harness.scenario``) and target profiles (``harness.targets``) share:
reading YAML keeping where each value was written, JSON-Schema validation with our
messages, the values both write (durations, DTMF digits, destinations), and the
checker that reports every problem of a file with its file, line and field.
Below both; imports neither.
"""
