"""The import page: a file is uploaded, its columns mapped and imported through the importer
the CLI and API use; good rows are imported, bad ones listed with row, column and reason
and downloadable as formula-safe CSV; a malformed file or mapping is refused naming the
problem with nothing written; and only the roles the API lets import may."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadfunnel.bootstrap import App
from leadfunnel.entrypoints.web.pages.imports import STORE
from tests.api.conftest import World, build_world
from tests.builders import count_rows, table_counts
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser

EVIL = '=HYPERLINK("http://evil.example","click")'
#: Two good rows; a bad email, a formula posing as an email, a date not in the format.
FAIR = (
    "E-mail,Company,Source,Signed up\n"
    "ann@new.example,Ann Co,webinar,2026/01/05\n"
    "not-an-email,Bad Co,webinar,2026/01/06\n"
    '"' + EVIL.replace('"', '""') + '",Evil Co,webinar,2026/01/07\n'
    "bob@new.example,Bob Co,paid_search,5 January\n"
    "carl@new.example,Carl Co,seo,2026/01/08\n"
).encode()
MAPPING = {"column.email": "E-mail", "column.company": "Company", "column.channel": "Source",
           "column.occurred_at": "Signed up", "format.occurred_at": "%Y/%m/%d"}  # fmt: skip


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _upload(client: TestClient, body: bytes, *, name: str = "expo.csv", kind: str = "leads",
            csrf: bool = True, **fields: str):  # fmt: skip
    data = {"kind": kind, **fields, **({"csrf": client.cookies["lf_csrf"]} if csrf else {})}
    return client.post("/imports", data=data, files={"file": (name, body, "text/csv")},
                       follow_redirects=False)  # fmt: skip


def _map(client: TestClient, location: str, mapping: dict[str, str], *, csrf: bool = True):
    data = {**mapping, **({"csrf": client.cookies["lf_csrf"]} if csrf else {})}
    return client.post(location, data=data, follow_redirects=False)


def _import(client: TestClient, body: bytes, mapping: dict[str, str]) -> str:
    """Upload, map and run; the job page's path."""
    uploaded = _upload(client, body)
    assert uploaded.status_code == 303, uploaded.text
    ran = _map(client, uploaded.headers["location"], mapping)
    assert ran.status_code == 303, ran.text
    return str(ran.headers["location"])


def _counts(html: str) -> dict[str, int]:
    found = re.findall(
        r'data-count="(\w+)"><span class="label">[^<]*</span><span class="value">([\d,]+)<', html
    )
    return {key: int(value.replace(",", "")) for key, value in found}


def _error_rows(html: str) -> list[list[str]]:
    body = html.split('id="errors"')[1].split("</table>")[0].split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in body.split("<tr>")[1:]]


def test_an_upload_is_mapped_imported_and_its_bad_rows_reported(world: World) -> None:
    marketer = _browser(world, "marketer")
    leads_before = count_rows(world.app, "leads")
    uploaded = _upload(marketer, FAIR)
    assert uploaded.status_code == 303 and uploaded.headers["location"].startswith(
        "/imports/uploads/"
    )
    mapper = marketer.get(uploaded.headers["location"]).text
    # The header and sample rows, and the importer's own name matching pre-selected.
    assert "<th>Signed up</th>" in mapper and "<td>Ann Co</td>" in mapper
    assert re.search(r'name="column.email".*?<option value="E-mail" selected>', mapper, re.S)
    assert not re.search(r'name="column.channel"[^>]*>(?:(?!</select>).)*selected', mapper, re.S)
    job = _import(marketer, FAIR, MAPPING)
    assert re.fullmatch(r"/imports/[0-9a-f-]{36}", job)
    page = marketer.get(job).text
    assert 'data-status="completed"' in page and "http-equiv" not in page  # done: no refresh
    assert _counts(page) == {
        "total_rows": 5,
        "created": 2,
        "merged": 0,
        "unchanged": 0,
        "rejected": 3,
    }
    assert count_rows(world.app, "leads") == leads_before + 2
    rows = _error_rows(page)
    assert [(r[0], r[1]) for r in rows] == [("3", "E-mail"), ("4", "E-mail"), ("5", "Signed up")]
    assert rows[2][2] == "5 January" and "%Y/%m/%d" in rows[2][3]
    assert "&#34;" in rows[1][2] or "&quot;" in rows[1][2]  # shown escaped, as text
    # The mapped channel and date arrived with the lead.
    with world.app.uow_factory(write=False) as uow:
        ann = uow.leads.find_by_identities(emails=["ann@new.example"], phones=[], external_ids=[])[
            0
        ]
    assert ann["channel"] == "webinar" and ann["first_touch_at"].date().isoformat() == "2026-01-05"


def test_the_error_report_downloads_formula_safe(world: World) -> None:
    admin = _browser(world, "admin")
    job = _import(admin, FAIR, MAPPING)
    assert 'href="' + job + '/errors.csv"' in admin.get(job).text
    report = admin.get(job + "/errors.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "reason"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert rows[2][2] == "'" + EVIL  # neutralised: a spreadsheet reads it as text


def test_uploading_the_same_file_again_imports_nothing_new(world: World) -> None:
    manager = _browser(world, "manager")
    first = _counts(manager.get(_import(manager, FAIR, MAPPING)).text)
    before = count_rows(world.app, "leads")
    second_job = _import(manager, FAIR, MAPPING)
    second = _counts(manager.get(second_job).text)
    assert first["created"] == 2
    assert (second["created"], second["unchanged"], second["rejected"]) == (0, 2, 3)
    assert count_rows(world.app, "leads") == before
    overview = manager.get("/imports").text
    assert len(re.findall(r"<tr data-job=", overview)) == 2 and second_job in overview


def test_a_file_in_the_wrong_encoding_is_refused_naming_it_and_nothing_is_kept(
    world: World,
) -> None:
    admin = _browser(world, "admin")
    before, name = table_counts(world.app), f"refused-{uuid.uuid4().hex}.csv"
    gbk = "email,公司\nli@new.example,华为\n".encode("gbk")
    refused = _upload(admin, gbk, name=name, encoding="utf-8")
    assert refused.status_code == 422 and 'id="upload-error"' in refused.text
    assert "is not valid utf-8" in refused.text
    doubled = _upload(admin, b"email,email\na@new.example,b@new.example\n", name=name)
    assert doubled.status_code == 422 and "more than once" in doubled.text
    not_a_table = _upload(admin, b"MZ", name="tool.exe")
    assert not_a_table.status_code == 422 and "is not a CSV or XLSX file" in not_a_table.text
    assert table_counts(world.app) == before
    assert not list(STORE.root.glob(f"*/{name}"))  # refused uploads are not kept
    # The same bytes with their encoding named import fine.
    assert _upload(admin, gbk, encoding="gbk").status_code == 303


def test_a_mapping_without_a_required_field_is_refused_with_the_choices_kept(world: World) -> None:
    admin = _browser(world, "admin")
    before = table_counts(world.app)
    uploaded = _upload(admin, b"shoe,size\nsneaker,42\n")
    refused = _map(admin, uploaded.headers["location"], {"column.company": "shoe"})
    assert refused.status_code == 422 and 'id="map-error"' in refused.text
    assert "email or phone or external_id" in refused.text
    assert re.search(r'name="column.company".*?<option value="shoe" selected>', refused.text, re.S)
    unknown = _map(admin, uploaded.headers["location"], {"column.email": "no such column"})
    assert unknown.status_code == 422 and "has no column &#39;no such column&#39;" in unknown.text
    assert table_counts(world.app) == before


def test_constants_and_columns_kept_as_custom_fields_reach_the_lead(world: World) -> None:
    admin = _browser(world, "admin")
    body = b"mail;booth\nzoe@new.example;B12\n"  # a semicolon file: the delimiter is sniffed
    job = _import(admin, body, {"column.email": "mail", "constant.channel": "trade_show",
                                "constant.campaign": "Expo 2026", "extra": "booth"})  # fmt: skip
    assert _counts(admin.get(job).text)["created"] == 1
    with world.app.uow_factory(write=False) as uow:
        zoe = uow.leads.find_by_identities(emails=["zoe@new.example"], phones=[], external_ids=[])
    assert zoe[0]["channel"] == "trade_show" and zoe[0]["custom_fields"] == {"booth": "B12"}


def test_a_running_job_refreshes_its_page_until_it_is_done(world: World) -> None:
    admin = _browser(world, "admin")
    job = _import(admin, FAIR, MAPPING)
    job_id = uuid.UUID(job.rsplit("/", 1)[1])
    with world.app.uow_factory() as uow:  # as a job mid-way looks to a second tab
        row = uow.records.select_in("import_jobs", "id", [job_id])[0]
        uow.records.update("import_jobs", [{**row, "status": "running", "rows_done": 2}],
                           columns=("status", "rows_done"))  # fmt: skip
        uow.commit()
    running = admin.get(job).text
    assert '<meta http-equiv="refresh" content="2">' in running
    assert 'data-status="running"' in running and '<progress value="2" max="5">' in running


def test_only_importing_roles_import_and_each_reads_only_their_own_jobs(world: World) -> None:
    rep = _browser(world, "rep")
    assert rep.get("/imports").status_code == 403
    assert _upload(rep, FAIR).status_code == 403
    assert "/imports" not in re.findall(r'data-nav="([^"]+)"', rep.get("/leads").text)
    marketer = _browser(world, "marketer")
    assert "/imports" in re.findall(r'data-nav="([^"]+)"', marketer.get("/leads").text)
    upload = _upload(marketer, FAIR).headers["location"]
    job = _import(marketer, FAIR, MAPPING)
    manager = _browser(world, "manager")
    assert manager.get(upload).status_code == 404  # another person's upload
    assert (
        manager.get(job).status_code == 404 and manager.get(job + "/errors.csv").status_code == 404
    )
    assert rep.get(job).status_code == 403
    admin = _browser(world, "admin")
    assert admin.get(job).status_code == 200
    assert f'href="{job}"' in admin.get("/imports").text  # admins list every job
    chinese = admin.get("/imports?lang=zh_Hans").text
    assert "<h2>上传文件</h2>" in chinese and ">线索</option>" in chinese and "已完成" in chinese


def test_a_form_without_the_sessions_csrf_token_imports_nothing(world: World) -> None:
    admin = _browser(world, "admin")
    before = table_counts(world.app)
    assert _upload(admin, FAIR, csrf=False).status_code == 403
    location = _upload(admin, FAIR).headers["location"]
    assert _map(admin, location, MAPPING, csrf=False).status_code == 403
    assert table_counts(world.app) == before
    assert admin.get("/imports/uploads/not-a-token").status_code == 404


def test_an_admin_uploads_a_file_with_bad_rows_and_reads_the_error_report(
    page, site: Site, tmp_path
):
    sign_in(page, site, "admin", path="/imports")
    assert page.locator("header nav a[data-nav='/imports']").count() == 1
    file = tmp_path / "browser-expo.csv"
    file.write_bytes(FAIR.replace(b"new.example", b"browser.example"))
    page.select_option("#kind", "leads")
    page.set_input_files("#file", str(file))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#map-form")
    assert page.locator("select[name='column.email']").input_value() == "E-mail"
    page.select_option("select[name='column.channel']", "Source")
    page.select_option("select[name='column.occurred_at']", "Signed up")
    page.fill("input[name='format.occurred_at']", "%Y/%m/%d")
    screenshot(page, "import-map")
    page.click("#run-import")
    page.wait_for_selector("#job-status[data-status=completed]")
    assert page.locator("[data-count=created] .value").inner_text() == "2"
    assert page.locator("[data-count=rejected] .value").inner_text() == "3"
    reported = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#errors tbody tr").all()
    ]
    assert [(r[0], r[1]) for r in reported] == [
        ("3", "E-mail"),
        ("4", "E-mail"),
        ("5", "Signed up"),
    ]
    assert reported[1][2] == EVIL  # shown as text, never as a link
    screenshot(page, "import-job")
    with page.expect_download() as download:
        page.click("#download-errors")
    saved = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(saved)))
    assert lines[2][2] == "'" + EVIL
