"""The per-pass PNG: four panels, drawn from either fidelity's outcome."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.image import imread

from satqkd.campaign import CampaignResult
from satqkd.config import Mission
from satqkd.report.pass_report import pass_figure, pass_figure_name, write_pass_figure


def test_pass_figure_has_the_four_panels(report_campaign: CampaignResult,
                                         report_mission: Mission, tmp_path: Path) -> None:
    best = max(report_campaign.evaluated, key=lambda o: o.final_key_bits)
    station = report_campaign.stations[best.station]
    fig = pass_figure(best, report_mission, station)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert any("ground track" in t for t in titles)
    assert any("elevation and range" in t for t in titles)
    assert any("count rate" in t for t in titles)
    assert any("QBER per packet" in t for t in titles)
    # The QBER panel shows every packet, the key curve ends at the pass's final key.
    qber_ax = next(ax for ax in fig.axes if ax.get_title().startswith("QBER"))
    assert len(qber_ax.lines[0].get_xdata()) == best.packets
    key_ax = next(ax for ax in fig.axes if ax.get_ylabel() == "final key (kbit)")
    assert key_ax.lines[0].get_ydata()[-1] * 1e3 == np.float64(best.final_key_bits)
    import matplotlib.pyplot as plt

    plt.close(fig)
    path = write_pass_figure(best, report_mission, station, tmp_path)
    assert path.name == pass_figure_name(best) and path.suffix == ".png"
    image = imread(path)
    assert image.shape[0] > 500 and image.shape[1] > 800
    # Not blank: many distinct colours (map, land, lines).
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200
