"""Lines for the real-pods summary at the end of the test session (times, sizes, counts)."""

REPORT: list[str] = []
