"""In a real headless chromium: log in, open the board, schedule an inspection, invite the group, record
attendance, and see the delegate's record change. Every service is real (NATS, PostgreSQL, projection).

Skipped only outside CI when chromium is missing; under CI (the `CI` variable set) a missing browser fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.activities.main import build as build_activities
from services.delegates.main import build as build_delegates
from services.gateway.config import GatewaySettings
from services.gateway.core import Gateway
from services.gateway.main import http_server
from services.projection.main import build as build_projection
from services.projects.main import build as build_projects
from shared.rpc import RpcClient
from shared.subjects import command_subject, health_subject, query_subject
from shared.timeutil import CITY_TZ, local_date, start_of_day
from tests.conftest import eventually
from tests.e2e import browser

if not browser.available():
    if os.environ.get("CI"):
        raise RuntimeError("chromium and chromium-driver must be installed under CI (.ci/run installs them)")
    pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PASSWORD = "office-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _window() -> tuple[int, datetime, datetime]:
    """A year and an inspection that just took place (attendance is recorded after the start)."""
    end = datetime.now(UTC) - timedelta(minutes=5)
    start = max(end - timedelta(hours=1), start_of_day(local_date(end)))
    return local_date(end).year, start, end


async def _seed(client: RpcClient, year: int) -> None:
    """The year, a department, one voted project, one delegate in one group."""
    async def send(service: str, name: str, body: dict) -> None:
        await client.call(command_subject(service, name), body, actor="test:seed")

    await send("projects", "open_year", {"year": year, "session_start": f"{year}-01-02", "session_end": f"{year}-01-03"})
    await send("projects", "register_department", {"code": "jhzjj", "full_name": "景洪市住房和城乡建设局",
                                                   "short_name": "市住建局"})
    await send("projects", "register_voted_project", {
        "year": year, "code": "01", "title": "允景洪街道老旧小区改造提升", "category": "城乡建设", "lead_unit": "jhzjj",
        "townships": ["允景洪街道"], "votes_for": 268, "votes_against": 4, "votes_abstain": 6,
        "voted_on": f"{year}-01-03"})
    await send("delegates", "register_delegate", {
        "delegate_id": "d001", "name": "玉香", "gender": "女", "ethnicity": "傣族", "level": "city",
        "constituency": "嘎洒镇", "term_start": f"{year}-01-03", "phone": "13800000000"})
    await send("delegates", "form_group", {"group_id": f"gasa-{year}", "year": year, "name": "嘎洒镇人大代表小组",
                                           "kind": "township", "township": "嘎洒镇"})
    await send("delegates", "add_group_member", {"group_id": f"gasa-{year}", "delegate_id": "d001"})


async def _caught_up(client: RpcClient) -> bool:
    """The activities service and the projection have every event so far."""
    act = await client.request(health_subject("activities"), {})
    proj = await client.request(query_subject("delegates", "get"), {"delegate_id": "d001"})
    return act.get("follower_lag") == 0 and proj.get("ok") is True


@pytest.fixture
async def system(settings, nc):
    """Every service the flow touches, and the gateway serving HTTP on a free port."""
    runtimes = [build_projects(settings), build_delegates(settings), build_activities(settings)]
    projection, _ = build_projection(settings)
    runtimes.append(projection)
    for rt in runtimes:
        await rt.start()
    port = _free_port()
    gateway = Gateway(settings, GatewaySettings(port=port, argon2_time_cost=1, argon2_memory_kib=1024))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = http_server(gateway)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: _http_up(port), timeout=20)
        await gateway.users.create_user("office1", PASSWORD, "office", "王芳")
        client = RpcClient(nc, timeout=10)
        year, start, end = _window()
        await _seed(client, year)
        await eventually(lambda: _caught_up(client), timeout=20)
        yield {"base": f"http://127.0.0.1:{port}", "year": year, "start": start, "end": end}
    finally:
        server.should_exit = True  # a graceful stop: the lifespan stops the gateway (cancelling can hang)
        await asyncio.wait_for(serving, 30)
        for rt in reversed(runtimes):
            await rt.stop()
        sock.close()


async def _http_up(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


def _local(moment: datetime) -> str:
    return moment.astimezone(CITY_TZ).strftime("%Y-%m-%dT%H:%M")


def _until(driver, css: str, *, reload: bool = False, timeout: float = 20):
    """Wait for an element, reloading the page while the read model catches up."""
    def found(d):
        hits = d.find_elements(By.CSS_SELECTOR, css)
        if not hits and reload:
            d.refresh()
        return hits[0] if hits else False

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(found)


def _flow(base: str, year: int, start: datetime, end: datetime, shots: Path | None) -> None:
    project = f"project-{year}-01"
    with browser.chromium() as driver:
        browser.login(driver, base, "office1", PASSWORD)
        driver.get(f"{base}/board?year={year}")
        _until(driver, f'a[href="/projects/{project}"]')
        WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts"))
        assert int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-charts")) >= 1, "ECharts drew"
        assert "全市看板" in driver.title or "全市看板" in driver.page_source
        if shots:
            browser.full_page(driver, shots / "board.png")

        # Schedule an inspection from the project page.
        driver.find_element(By.CSS_SELECTOR, f'a[href="/projects/{project}"]').click()
        link = _until(driver, 'a[href*="/forms/activities/schedule_activity"]')
        link.click()
        _until(driver, "form.cmd-form")
        driver.find_element(By.NAME, "title").send_keys("视察老旧小区改造进展")
        driver.find_element(By.NAME, "group_ids").send_keys(f"gasa-{year}")
        driver.find_element(By.NAME, "organiser").send_keys("常委会办公室")
        driver.find_element(By.NAME, "place").send_keys("曼听社区")
        for name, value in (("starts_at", _local(start)), ("ends_at", _local(end))):
            driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.NAME, name), value)
        driver.find_element(By.CSS_SELECTOR, "form.cmd-form button[type=submit]").click()
        saved = _until(driver, ".saved")
        activity_link = saved.find_element(By.CSS_SELECTOR, 'a[href^="/activities/"]')
        activity_href = activity_link.get_attribute("href")

        # Invite the group, then record the delegate present on the attendance sheet.
        driver.get(activity_href)
        _until(driver, 'a[href*="/forms/activities/invite_delegates"]', reload=True).click()
        _until(driver, "form.cmd-form")
        driver.find_element(By.NAME, "group_ids").send_keys(f"gasa-{year}")
        driver.find_element(By.CSS_SELECTOR, "form.cmd-form button[type=submit]").click()
        _until(driver, ".saved")
        driver.get(activity_href)
        _until(driver, 'input[name="status:d001"][value="present"]', reload=True).click()
        driver.find_element(By.ID, "save-attendance").click()
        _until(driver, "p.saved")
        assert not driver.find_elements(By.CSS_SELECTOR, ".problem")

        # The delegate's record shows the inspection, attended.
        driver.get(f"{base}/delegates/d001?year={year}")
        row = _until(driver, "#activities table.data tbody tr", reload=True)
        WebDriverWait(driver, 20, poll_frequency=0.5).until(
            lambda d: "出席" in d.find_element(By.ID, "activities").text or d.refresh())
        text = driver.find_element(By.ID, "activities").text
        assert "视察老旧小区改造进展" in text and "视察" in text and "出席" in text, text
        assert row is not None
        if shots:
            browser.full_page(driver, shots / "delegate-record.png")


async def test_office_schedules_an_inspection_and_the_delegate_record_shows_it(system):
    shots = Path(os.environ["HUIMIN_SCREENSHOT_DIR"]) if os.environ.get("HUIMIN_SCREENSHOT_DIR") else None
    # Selenium is blocking: drive the browser in a thread while the services keep serving on this loop.
    await asyncio.to_thread(_flow, system["base"], system["year"], system["start"], system["end"], shots)
