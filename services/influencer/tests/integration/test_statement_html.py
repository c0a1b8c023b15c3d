"""A statement's printable HTML page renders in headless Chromium (a screenshot is taken and
checked to hold a drawn page, not a blank one)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

from ifm_support import Ifm

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _png_size_and_ink(data: bytes) -> tuple[int, int, float]:
    """Width, height and the share of non-white bytes of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, color = struct.unpack(">IIBB", body[:10])
            channels = {2: 3, 6: 4}.get(color, 4)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    sample = raw[: stride * min(height, 400)]
    ink = sum(1 for b in sample if b < 200) / max(1, len(sample))
    return width, height, ink


async def test_statement_html_renders_in_headless_chromium(ifm: Ifm, tmp_path: Path) -> None:
    # ./g3n installs Debian's chromium; a missing browser is a failure, never a silent skip.
    assert CHROMIUM is not None, "headless Chromium not installed (./g3n setup installs it)"
    prof = await ifm.data(
        "/profile/create",
        {"handle": "hana", "display_name": "Hana", "payout_currency": "EUR", "codes": ["HANA"]},
    )
    cmp = await ifm.data(
        "/campaign/create",
        {
            "name": "s",
            "currency": "EUR",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "flat", "amount_minor": 1250},
            "profile_ids": [prof["profile_id"]],
        },
    )
    await ifm.call(
        "/campaign/status/set",
        {"campaign_id": cmp["campaign_id"], "expected_revision": 1, "status": "active"},
    )
    for i in range(3):
        await ifm.data(
            "/attribution/record",
            {
                "campaign_id": cmp["campaign_id"],
                "code": "HANA",
                "order_id": f"h{i}",
                "occurred_at": "2026-11-20T00:00:00Z",
                "currency": "EUR",
                "lines": [{"line_id": "1", "sku": "A", "qty": 1, "net_amount_minor": 4000}],
            },
        )
    end = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    stm = await ifm.data(
        "/statement/create",
        {
            "profile_id": prof["profile_id"],
            "currency": "EUR",
            "period_start": "2026-01-01T00:00:00Z",
            "period_end": end,
        },
    )
    page = await ifm.data("/statement/get", {"statement_id": stm["statement_id"], "format": "html"})
    assert "37.50 EUR" in page["html"] and "<script" not in page["html"]

    html_file = tmp_path / "statement.html"
    html_file.write_text(page["html"], encoding="utf-8")
    shot = tmp_path / "statement.png"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1000,1200",
            html_file.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    width, height, ink = _png_size_and_ink(shot.read_bytes())
    assert (width, height) == (1000, 1200)
    assert ink > 0.002, "the page rendered blank"
