"""Reports: HTML run reports and plots."""

from redline.report.html import render_report

__all__ = ["render_report"]
