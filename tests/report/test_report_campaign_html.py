"""The campaign's HTML report: self-contained, renders in headless Chromium, right rows.

The page is rendered by Debian's ``chromium`` (installed by ``.ci/run``); the test is
skipped, saying so, only where that browser is absent.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from satqkd.campaign import CampaignResult
from satqkd.config import Mission
from satqkd.report.campaign_report import REPORT_FILE, write_campaign_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def report(report_campaign: CampaignResult, report_mission: Mission,
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("campaign")
    return write_campaign_report(report_campaign, [report_mission], out, max_pass_figures=2)


def _rows(html: str, table_id: str) -> list[str]:
    match = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert match, table_id
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S)


def test_report_is_self_contained(report: Path, report_campaign: CampaignResult) -> None:
    html = report.read_text(encoding="utf-8")
    assert report.name == REPORT_FILE
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(?!data:)', html)  # nothing fetched from anywhere
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3 + 2  # three campaign figures, two pass figures
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((report.parent / "passes").glob("*.png"))) == 2
    assert len(_rows(html, "passes")) == len(report_campaign.outcomes)


@needs_chromium
def test_report_renders_in_headless_chromium(report: Path, report_campaign: CampaignResult,
                                             tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # The browser's DOM has the tables with the expected rows.
    passes = _rows(html, "passes")
    assert len(passes) == len(report_campaign.outcomes)
    keyed = [o for o in report_campaign.outcomes if o.status == "key"]
    assert sum('class="pass status-key"' in r for r in passes) == len(keyed)
    best = max(keyed, key=lambda o: o.final_key_bits)
    assert f"{best.final_key_bits:,}" in html
    assert len(_rows(html, "station-totals")) == len(report_campaign.stations)
    n = len(report_campaign.stations)
    assert len(_rows(html, "relay-latencies")) == n * (n - 1)
    for station in report_campaign.stations:
        assert f'<td class="text">{station}</td>' in html

    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2400",
                    "--hide-scrollbars", report.as_uri())
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    image = imread(shot)[..., :3]
    assert image.shape[:2] == (2400, 1200)
    # Not blank: a good part of the page is not white, with the plots' many colours.
    not_white = np.any(image < 0.95, axis=-1).mean()
    assert not_white > 0.05
    colours = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 500
