"""Security of the reference platform: scanners, torture messages and the recording API."""
