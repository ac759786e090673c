"""The HTML report: defect rate by day and arm, failure points, failing requests, rewrites."""

from selflearn.report.html import build_report, write_report

__all__ = ["build_report", "write_report"]
