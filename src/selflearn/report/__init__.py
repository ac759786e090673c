"""The HTML report: what an owner reads about their assistant (what failed, what was
learned, what is fixed, what still fails), and the simulator's A/B when there is one."""

from selflearn.report.html import build_report, report_figures, write_report
from selflearn.report.owner import OwnerView, owner_view

__all__ = ["OwnerView", "build_report", "owner_view", "report_figures", "write_report"]
