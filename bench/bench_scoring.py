"""Rule-based scoring speed: per-event re-scores and bulk re-scores after a model change.

(a) **Per event**: a generated 50-rule model (25 fit + 25 behaviour rules, every operator,
caps, decay), one lead with ``--touches`` touchpoints. Times the pure scoring
(``lead_facts`` + ``score_lead`` + ``qualification_for``) and the whole
``rescore_leads`` call on a SQLite store (read the lead, its touches and stored scores,
score, write ``lead_scores`` and the lead), each over ``--events`` events; prints mean and
p99 wall time and mean CPU time in microseconds. The commit after each event (an fsync with
``synchronous=FULL``) is timed apart.

(b) **Bulk**: the example model (``examples/scoring/b2b-default.toml``) activated on a
demo store of ``--leads`` leads (``leadfunnel demo`` data; built into ``--db`` when the
file does not exist, in a child process so its memory does not count), then ``score
run`` (every lead again, now replacing stored scores). Prints seconds and the peak RSS of
the scoring process. Then the old lead-by-lead pass and the column-wise one each re-score a
demo store of ``--sample`` leads, for the speed-up ratio.

A store is scored once: activating again finds every score and stage already set. Keep a
copy of a freshly built store to repeat the first activation.

    uv run python -m bench.bench_scoring --leads 1000000 --db /tmp/demo-1m.db
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from leadfunnel.domain.ids import new_id
from leadfunnel.rules.facts import lead_facts, touch_facts
from leadfunnel.rules.scoring import qualification_for, score_lead
from leadfunnel.rules.scoring_model import parse_model
from leadfunnel.services.intake import intake_lead
from leadfunnel.services.lead_input import parse_lead_input
from leadfunnel.services.scoring import activate_model, per_lead_scorer, rescore_all, rescore_leads
from leadfunnel.services.scoring_models import import_model

NOW = datetime(2026, 3, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "scoring" / "b2b-default.toml"
KINDS = ["page_view", "form_submit", "content_download", "email_open", "email_click",
         "webinar_attended", "demo_request", "ad_click"]  # fmt: skip


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def fifty_rule_model() -> dict[str, Any]:
    """25 fit and 25 behaviour rules over every operator, with caps and decay."""
    fit_conditions = [
        leaf("company_size", "ge", 500), leaf("company_size", "between", [100, 499]),
        leaf("title", "regex", r"(?i)\b(ceo|cfo|cto|chief|vp|head of|director)\b"),
        leaf("industry", "in", ["software", "financial services", "manufacturing"]),
        leaf("email_is_free_mail", "eq", True), leaf("region", "eq", "EMEA"),
        leaf("country", "ne", "US"), leaf("title", "contains", "manager"),
        leaf("email_domain", "ends_with", ".io"), leaf("company", "starts_with", "acme"),
        leaf("phone", "exists", True), leaf("custom_fields.budget", "ge", 10_000),
        leaf("custom_fields.plan", "in", ["pro", "enterprise"]), leaf("channel", "not_in", ["display", "social_ads"]),
        leaf("created_at", "ge", "2025-01-01T00:00:00+00:00"), leaf("in_pool", "eq", False),
        {"all": [leaf("industry", "eq", "software"), leaf("company_size", "gt", 50)]},
        {"any": [leaf("first_utm_source", "eq", "google"), leaf("last_utm_medium", "eq", "cpc")]},
        {"not": leaf("title", "regex", r"(?i)\b(student|intern)\b")},
        leaf("product_interest", "exists", True), leaf("source", "eq", "web_form"),
        leaf("last_name", "exists", False), leaf("company_size", "lt", 10),
        leaf("campaign", "contains", "spring"), leaf("first_channel", "eq", "paid_search"),
    ]  # fmt: skip
    behaviour_conditions = [
        {"all": [leaf("kind", "eq", "page_view"), leaf("url", "contains", "/pricing")]},
        leaf("kind", "eq", "content_download"), leaf("kind", "eq", "webinar_attended"),
        leaf("kind", "eq", "email_click"), leaf("kind", "eq", "demo_request"),
        leaf("kind", "eq", "unsubscribe"), leaf("kind", "in", ["form_submit", "demo_request"]),
        leaf("url", "regex", r"/(docs|api)/"), leaf("url", "ends_with", "/case-studies"),
        leaf("channel", "eq", "webinar"), leaf("campaign", "starts_with", "abm"),
        leaf("properties.plan", "eq", "trial"), leaf("properties.seats", "ge", 10),
        leaf("at", "ge", "2026-01-01T00:00:00+00:00"), leaf("kind", "ne", "email_open"),
        {"any": [leaf("kind", "eq", "ad_click"), leaf("channel", "eq", "display")]},
        {"not": leaf("kind", "eq", "page_view")}, leaf("url", "contains", "/blog"),
        leaf("kind", "eq", "page_view"), leaf("channel", "in", ["organic_search", "paid_search"]),
        leaf("properties.utm_medium", "eq", "cpc"), leaf("campaign", "exists", True),
        {"all": [leaf("kind", "eq", "email_open"), leaf("campaign", "contains", "newsletter")]},
        leaf("url", "starts_with", "https://www.brightline.example/product"), leaf("kind", "eq", "form_submit"),
    ]  # fmt: skip
    fit = [{"name": f"fit {i}", "points": random.Random(i).choice([-10, 5, 8, 10, 15, 20]), "when": c}
           for i, c in enumerate(fit_conditions)]  # fmt: skip
    behaviour = []
    for i, condition in enumerate(behaviour_conditions):
        rule: dict[str, Any] = {"name": f"behaviour {i}", "points": [3, 5, 10, 15, -20][i % 5], "when": condition}
        if i % 2 == 0:
            rule["max_points"] = 45
        if i % 3 == 0:
            rule["per_period"] = {"points": 15, "days": 1}
        if i % 4 == 0:
            rule["half_life_days"] = 14
        behaviour.append(rule)
    return {"name": "fifty", "half_life_days": 30, "hot_threshold": 70, "fit": fit, "behaviour": behaviour,
            "qualify": [{"name": "MQL", "to": "mql", "when": {"all": [leaf("score", "ge", 60), leaf("fit_grade", "in", ["A", "B"])]}}]}  # fmt: skip


def event_lead() -> dict[str, Any]:
    return {"email": "dana.kim@acme.io", "phone": "+14155550100", "first_name": "Dana", "last_name": "Kim",
            "company": "ACME Analytics", "title": "Head of Data", "region": "EMEA", "country": "DE",
            "industry": "software", "company_size": 320, "product_interest": "Analytics Suite", "channel": "paid_search",
            "campaign": "spring-launch", "source": "web_form", "first_channel": "paid_search",
            "first_utm_source": "google", "last_utm_medium": "cpc", "custom_fields": {"budget": 25_000, "plan": "pro"}}  # fmt: skip


def event_touches(n: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    urls = ["https://www.brightline.example/pricing", "https://www.brightline.example/blog/x",
            "https://www.brightline.example/docs/api/", "https://www.brightline.example/case-studies"]  # fmt: skip
    return [{"kind": rng.choice(KINDS), "channel": rng.choice(["paid_search", "webinar", "email"]),
             "campaign": rng.choice(["abm-q1", "newsletter-03", None]), "url": rng.choice(urls),
             "at": NOW - timedelta(days=rng.uniform(0, 90)),
             "properties": {"plan": rng.choice(["trial", "pro"]), "seats": rng.randint(1, 40), "utm_medium": "cpc"}}
            for _ in range(n)]  # fmt: skip


class Timer:
    """Wall and CPU time of each timed call (CPU time shows the work when other processes
    share the cores)."""

    def __init__(self) -> None:
        self.wall: list[int] = []
        self.cpu: list[int] = []

    def __enter__(self) -> None:
        self._wall, self._cpu = time.perf_counter_ns(), time.process_time_ns()

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter_ns() - self._wall)
        self.cpu.append(time.process_time_ns() - self._cpu)

    def summary(self, label: str) -> None:
        wall = sorted(s / 1000 for s in self.wall)
        p99 = wall[min(len(wall) - 1, int(len(wall) * 0.99))]
        cpu = statistics.fmean(self.cpu) / 1000
        print(f"  {label:44} wall mean {statistics.fmean(wall):7.0f} µs, p99 {p99:7.0f} µs; "
              f"CPU mean {cpu:6.0f} µs  (n={len(wall)})")  # fmt: skip


def per_event(touches: int, events: int) -> None:
    doc = fifty_rule_model()
    model = parse_model(doc)
    print(f"(a) per event: {len(model.fit_rules)} fit + {len(model.behaviour_rules)} behaviour rules, "
          f"one lead with {touches} touchpoints")  # fmt: skip
    lead, touch_rows = event_lead(), event_touches(touches)
    pure = Timer()
    for _ in range(events):
        with pure:
            facts = lead_facts({**lead, "stage": "lead"})
            result = score_lead(facts, [touch_facts(t) for t in touch_rows], model, now=NOW)
            qualification_for(model, facts, result)
    pure.summary("pure scoring (facts + score_lead + qualify)")
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as directory:
        app = build_app(Settings(database_url=f"sqlite:///{directory}/s.db"), require_schema=False)
        upgrade(app.engine)
        form = {k: lead[k] for k in ("email", "title", "company_size", "industry", "region", "custom_fields")}
        draft = parse_lead_input(form, now=NOW, default_region="US")
        lead_id = intake_lead(uow_factory=app.uow_factory, draft=draft, source="api", actor="bench", now=NOW).lead_id
        with app.uow_factory() as uow:
            uow.touchpoints.add_many([{**t, "id": new_id(), "lead_id": lead_id, "campaign_id": None} for t in touch_rows[:-1]])
            uow.commit()
        import_model(uow_factory=app.uow_factory, document=doc, actor="bench", now=NOW)
        activate_model(uow_factory=app.uow_factory, name="fifty", version=1, actor="bench", now=NOW)
        calls, commits = Timer(), Timer()
        for i in range(events):
            at, touch_id = NOW + timedelta(seconds=i), new_id()
            with app.uow_factory() as uow:
                uow.touchpoints.add_many([{**touch_rows[-1], "id": touch_id, "lead_id": lead_id, "campaign_id": None, "at": at}])
                with calls:
                    rescore_leads(uow=uow, lead_ids=[lead_id], now=at, actor="bench")
                uow.records.delete_in("touchpoints", "id", [touch_id])  # the lead keeps its touches
                if i < 100:  # the first events commit (timed apart); the others roll back
                    with commits:
                        uow.commit()
        calls.summary("rescore_leads on SQLite (read, score, write)")
        commits.summary("commit of the event's transaction (fsync)")
        app.close()


def build(path: Path, leads: int) -> None:
    from leadfunnel.adapters.sql.bulk import BulkWriter
    from leadfunnel.adapters.sql.engine import create_store_engine
    from leadfunnel.services.demo import build_demo

    engine = create_store_engine(f"sqlite:///{path}")
    upgrade(engine)
    with BulkWriter(engine) as writer:
        build_demo(sink=writer, leads=leads, seed=7, now=NOW)
        writer.commit()
    engine.dispose()


def bulk(path: Path, leads: int, sample: int) -> None:
    if not path.exists():
        print(f"building {leads:,} demo leads into {path} ...", flush=True)
        subprocess.run([sys.executable, "-m", "bench.bench_scoring", "--build-only", "--leads", str(leads),
                        "--db", str(path)], check=True)  # fmt: skip
    app = build_app(Settings(database_url=f"sqlite:///{path}"))
    with app.engine.connect() as conn:
        from sqlalchemy import text

        counted = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("leads", "touchpoints")}
    print(f"(b) bulk: {counted['leads']:,} leads, {counted['touchpoints']:,} touchpoints, model {EXAMPLE.name}")
    document = tomllib.loads(EXAMPLE.read_text())
    stored = import_model(uow_factory=app.uow_factory, document=document, actor="bench", now=NOW)
    started = time.perf_counter()
    summary = activate_model(uow_factory=app.uow_factory, name=stored.name, version=stored.version, actor="bench", now=NOW)
    activated = time.perf_counter() - started
    print(f"  activate {stored.name} v{stored.version} (every lead, one transaction): {activated:6.1f} s  "
          f"({summary.scored:,} scored, {summary.hot:,} hot, {sum(summary.moved.values()):,} moved)")  # fmt: skip
    started = time.perf_counter()
    rescore_all(uow_factory=app.uow_factory, now=NOW + timedelta(days=1), actor="bench")
    rescored = time.perf_counter() - started
    print(f"  score run (every lead again, replacing scores):      {rescored:6.1f} s")
    print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    app.close()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as directory:
        compare(Path(directory) / "sample.db", sample, counted["leads"], rescored)


def compare(path: Path, leads: int, total_leads: int, column_wise_total: float) -> None:
    """The old lead-by-lead pass against the column-wise one, each re-scoring every lead of
    a demo store of ``leads`` leads (after the same activation)."""
    build(path, leads)
    app = build_app(Settings(database_url=f"sqlite:///{path}"))
    stored = import_model(uow_factory=app.uow_factory, document=tomllib.loads(EXAMPLE.read_text()), actor="bench", now=NOW)
    activate_model(uow_factory=app.uow_factory, name=stored.name, version=stored.version, actor="bench", now=NOW)
    times = {}
    for label, scorer in (("lead by lead", per_lead_scorer), ("column-wise", None)):
        started = time.perf_counter()
        rescore_all(uow_factory=app.uow_factory, now=NOW + timedelta(days=1), actor="bench", scorer=scorer)
        times[label] = time.perf_counter() - started
    app.close()
    per_lead = times["lead by lead"] / leads
    print(f"  score run on a {leads:,}-lead demo store: lead by lead {times['lead by lead']:.1f} s "
          f"({per_lead * 1e6:,.0f} µs a lead), column-wise {times['column-wise']:.1f} s "
          f"({times['lead by lead'] / times['column-wise']:.1f}x)")  # fmt: skip
    print(f"  lead by lead at {total_leads:,} leads would take about {per_lead * total_leads:,.0f} s: "
          f"{per_lead * total_leads / column_wise_total:.0f}x the column-wise score run above")  # fmt: skip
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="demo store to score (built when missing)")
    parser.add_argument("--touches", type=int, default=30, help="(a) touchpoints of the lead")
    parser.add_argument("--events", type=int, default=2000, help="(a) events timed")
    parser.add_argument("--sample", type=int, default=20_000, help="(b) leads of the store both passes score")
    parser.add_argument("--only", choices=["event", "bulk"])
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build(args.db, args.leads)
        return
    if args.only != "bulk":
        per_event(args.touches, args.events)
    if args.only != "event":
        with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as directory:
            bulk(args.db or Path(directory) / "demo.db", args.leads, args.sample)


if __name__ == "__main__":
    main()
