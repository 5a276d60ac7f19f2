"""Conformance test harness for call-centre platforms."""

__version__ = "0.1.0"
