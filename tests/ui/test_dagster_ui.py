"""The Dagster UI in a real browser (headless Chromium): the asset graph, one partition launched from the
UI to success, and the results asset showing its table and plot."""

from __future__ import annotations

import time

import dagster as dg
import pytest
from ui_testing import chromium_path, dagster_dev, materialize_tiny_demo

from tests.helpers.lanes import missing

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (make install)")

PARTITION = "demo_image"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if chromium_path() is None:
        missing("Chromium (on PATH, or UNIBIND_CHROMIUM)", "scripts/ensure_chromium.sh")
    home, data = tmp_path_factory.mktemp("dagster_home"), tmp_path_factory.mktemp("unibind_data")
    materialize_tiny_demo(home, data)
    with dagster_dev(home, data) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield url, page, home
        browser.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter dialog
    try:
        skip.wait_for(timeout=3000)
        skip.click()
    except sync_api.TimeoutError:
        pass


def test_asset_graph_lists_every_group(served):
    url, page, _ = served
    _open(page, f"{url}/asset-groups")
    for group in ("data", "knowledge", "centres", "heads", "evaluation"):
        sync_api.expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=30_000)
    sync_api.expect(page.get_by_text("Global asset lineage")).to_be_visible()


def test_launch_one_partition_from_the_ui_and_see_the_results(served):
    url, page, home = served
    with dg.DagsterInstance.from_config(str(home)) as instance:
        before = {r.run_id for r in instance.get_runs()}

    _open(page, f"{url}/assets/benchmark_evaluation")
    page.get_by_role("button", name="Materialize…").first.click()
    page.get_by_text("Select a partition or create one").click()
    page.locator(f"[data-tooltip='{PARTITION}']").first.click()
    page.get_by_text("Launch runs to materialize benchmark_evaluation").click()  # close the partition list
    page.get_by_role("button", name="Launch 1 run").click()
    sync_api.expect(page.get_by_text("Launched run")).to_be_visible(timeout=30_000)

    # The run goes to success (the daemon-less default run coordinator launches it at once).
    deadline, run = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            new = [r for r in instance.get_runs() if r.run_id not in before]
        if new and new[0].is_finished:
            run = new[0]
            break
        time.sleep(2)
    assert run is not None, "the run launched from the UI did not finish in 300 s"
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    assert run.tags.get("dagster/partition") == PARTITION
    _open(page, f"{url}/runs/{run.run_id}")
    sync_api.expect(page.get_by_text("Success").first).to_be_visible(timeout=30_000)

    # The results asset: its markdown table (every benchmark) and its plot, rendered by the UI.
    _open(page, f"{url}/assets/results_table")
    shows = page.get_by_text("[Show Markdown]")
    sync_api.expect(shows.first).to_be_visible(timeout=30_000)
    texts = [shows.nth(i) for i in range(shows.count())]
    seen_table = seen_plot = False
    for link in texts:
        link.click()
        dialog = page.get_by_role("dialog")
        sync_api.expect(dialog).to_be_visible()
        if dialog.locator("table").count():
            sync_api.expect(dialog.locator("table").first).to_contain_text(PARTITION)
            seen_table = True
        images = dialog.locator("img")
        if images.count():
            assert images.first.get_attribute("src").startswith("data:image/png;base64,")
            assert images.first.evaluate("img => img.naturalWidth") > 100  # decoded, not a broken image
            seen_plot = True
        page.keyboard.press("Escape")
        sync_api.expect(dialog).to_be_hidden()
    assert seen_table and seen_plot
