"""The report page in a real browser: headless Chromium (Debian's package, installed by `make test`).

Two checks: a screenshot of the page is a real rendering (the size asked for, not blank, with the
accuracy bars drawn in their colour), and the failure filters work, set from the address as a
user would share them: Chromium runs the page's script and the DOM it leaves is checked.
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from adhere.bench.scoring import score
from tests.conftest import IFEVAL, read_jsonl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-dev-shm-usage"]  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
    root = tmp_path_factory.mktemp("browser")
    score(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl",
          IFEVAL / "input_data_gpt4_20231107_145030.jsonl", out=root / "gpt4")  # fmt: skip
    out = root / "report.html"
    done = subprocess.run([sys.executable, "-m", "adhere.cli", "report", str(root / "gpt4"), "--out", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit PNG (Chromium writes RGBA, non-interlaced)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    channels = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r) for r in rows], channels


def test_screenshot_shows_the_rendered_report(page, tmp_path):
    shot = tmp_path / "shot.png"
    done = chromium("--window-size=1200,1400", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    width, height, rows, channels = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1400)
    pixels = {row[x : x + 3] for row in rows[::7] for x in range(0, len(row), channels * 5)}
    assert len(pixels) > 50  # text, tables and bars, not a blank page
    strict_bar = bytes((0x2F, 0x6F, 0xDE))
    bar_rows = sum(1 for row in rows if strict_bar in {row[x : x + 3] for x in range(0, len(row), channels)})
    assert bar_rows > 20  # the per-instruction strict bars are drawn


def visible_failures(dom: str) -> list[str]:
    items = re.findall(r'<details class="failure([^"]*)"([^>]*)>', dom)
    return [attrs for css, attrs in items if "hidden" not in css.split()]


def test_filters_from_the_address_select_the_right_failures(page):
    verdicts = read_jsonl(page.parent / "gpt4" / "verdicts.jsonl")
    wanted = "punctuation:no_comma"
    expected = sum(
        1 for v in verdicts
        for cid, ok in zip(v["instruction_id_list"], v["strict"]["follow_instruction_list"])
        if cid == wanted and not ok
    )  # fmt: skip
    done = chromium("--dump-dom", f"{page.as_uri()}#id={wanted}")
    shown = visible_failures(done.stdout)
    assert expected > 0 and len(shown) == expected, done.stderr[-2000:]
    assert all(wanted in html.unescape(attrs) for attrs in shown)
    assert f">{expected} shown<" in done.stdout

    # Loose mode and a text search narrow it further; no filter shows every failed prompt.
    loose = chromium("--dump-dom", f"{page.as_uri()}#mode=loose&q=zzzz-not-there")
    assert visible_failures(loose.stdout) == [] and ">0 shown<" in loose.stdout
    everything = chromium("--dump-dom", page.as_uri())
    assert len(visible_failures(everything.stdout)) == sum(
        not v["strict"]["follow_all_instructions"] for v in verdicts
    )
