from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from bench_chromium import find_chromium, launch, luminance_variance, open_page
from bench_factory import results, run, sample

from buildrig.bench.html import nice_step, render_html
from buildrig.fsutil import atomic_write

# Every URL-bearing attribute; the SVG namespace is a name, not a fetch.
_FETCHING = re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?(?!data:|#)([^"'\s>]+)""", re.I)


def test_self_contained_nothing_is_fetched() -> None:
    html = render_html(sample())
    assert _FETCHING.findall(html) == []
    assert "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html  # a regression to a CDN would be blocked and reported


def test_content_charts_ranking_machine_and_skips() -> None:
    html = render_html(sample())
    # one stacked bar per way × scenario that has a successful run: 3 ways × 3 scenarios
    assert html.count('class="seg seg-build-steps"') == 9
    assert html.count('class="seg seg-daemon-start"') == 3  # only dind has services
    assert "the kaniko image cannot be obtained offline" in html
    assert "seed (theory)" in html and "measured: cold" in html
    assert "20.10.24+dfsg1" in html and "overlay2" in html
    assert "missed (≤ 2×)" in html  # dind warm
    assert "met (≤ 2×)" in html  # docker_sock warm
    assert "3/4" in html  # dind cold had a failed repeat


def test_failed_group_drawn_as_failed_not_as_zero() -> None:
    html = render_html(results([run("shell", "warm", 1, 1.0), run("dind", "warm", 1, 1.0, ok=False)]))
    assert 'class="failed"' in html
    assert "every run failed" in html


def test_aborted_banner_and_escaping() -> None:
    r = replace(sample(), aborted="engine <gone>", settings=replace(sample().settings, project="<script>x"))
    html = render_html(r)
    assert "Stopped early: engine &lt;gone&gt;" in html
    assert "<script>x" not in html


def test_one_chart_per_cache_mode() -> None:
    runs = [
        run("shell", "warm", 1, 1.0),
        run("dind", "warm", 1, 3.0),
        run("dind", "warm", 1, 9.0, cache="none"),
    ]
    html = render_html(results(runs))
    assert 'id="cache-registry"' in html and 'id="cache-none"' in html
    assert "Registry cache: with vs without" in html
    assert '<td class="num">2.09×</td>' in html  # 11.5 s without, 5.5 s with


@pytest.mark.parametrize(("top", "step"), [(0.0, 1.0), (4.0, 1.0), (13.5, 5.0), (48.8, 10.0), (130.0, 50.0)])
def test_nice_step(top: float, step: float) -> None:
    assert nice_step(top) == step


# What the page must show once rendered: every chart has painted bars of non-zero size, the
# sorting script ran to its end.
_PROBE = """
(() => {
  const segs = Array.from(document.querySelectorAll("svg.chart rect.seg"));
  const sized = segs.filter(r => {
    const b = r.getBoundingClientRect();
    return b.width > 0 && b.height > 0;
  });
  return {
    charts: document.querySelectorAll("svg.chart").length,
    rankings: document.querySelectorAll("svg.ranking").length,
    segs: segs.length,
    sized: sized.length,
    ready: document.documentElement.getAttribute("data-report-ready"),
  };
})()
"""


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = find_chromium()
    assert chromium, (
        "Debian's chromium is not installed: `apt-get install chromium` "
        "(scripts/setup.sh should install it for this test)"
    )
    page = tmp_path / "report.html"
    atomic_write(page, render_html(sample()))
    with launch(chromium, tmp_path / "profile") as browser:
        report = open_page(browser, page.as_uri(), _PROBE)
        # the probe itself would catch a broken page; an error page proves the probe can fail
        bad = tmp_path / "bad.html"
        bad.write_text("<html><body><script>console.error('x'); undefinedFn();</script></body></html>")
        broken = open_page(browser, bad.as_uri(), "1")
    assert report.errors == ()
    assert report.value == {"charts": 1, "rankings": 3, "segs": 39, "sized": 39, "ready": "1"}
    assert luminance_variance(report.png) > 100.0, "screenshot is (nearly) blank"
    assert len(broken.errors) == 2, broken.errors
