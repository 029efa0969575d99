"""Figures and reports: what a pass and a campaign look like to a person.

- :mod:`satqkd.report.pass_plots`: one pass's count rate, range, QBER per packet and key per
  block (``satqkd simulate --plot``, ``satqkd pass --plot``);
- :mod:`satqkd.report.groundtrack` and :mod:`satqkd.report.coastline`: ground tracks on a
  world map outline shipped in the package (Natural Earth 1:50m, no download);
- :mod:`satqkd.report.pass_report`: the four-panel PNG of a campaign pass;
- :mod:`satqkd.report.campaign_plots` and :mod:`satqkd.report.campaign_report`: the
  campaign's figures and its self-contained HTML report.

Everything draws with matplotlib's Agg backend (files only, no display).
"""
