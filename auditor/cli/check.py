"""`auditor check URL`: audit one site (your own) and print what to fix; CI-friendly.

Exit codes: 0 every gate passed (and, with ``--baseline``, nothing got worse);
1 a gate failed: ``--fail-under``, ``--fail-on-inactive``, or a new failure
against the baseline (a contact point died or went, the site went down, a new
one is inactive, the score dropped by ``[notify] score_drop`` points or more,
a channel claiming 24/7 did not answer every conclusive check; the last two
by the same rules as a wave's alerts, and only of the ``[notify] changes``
kinds); 2 usage or configuration error (a baseline without the site
included); 3 the site could not be audited; 4 every gate passed but an alert
about new failures could not be delivered (it is recorded in the check's
store); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from auditor import selfcheck
from auditor.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_report_options,
    exit_code,
    report_options,
    settings_from,
    setup_logging,
)

EXIT_NOTIFY_FAILED = 4  # every gate passed, but an alert about new failures was not delivered


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="audit one site (your own) and print what to fix; CI-friendly",
                       description="Audit one website and print its contact points, verdicts, score "
                       "and what to fix first. Exit codes: 0 passed; 1 a --fail-* gate failed or something got "
                       "worse against --baseline; 2 usage error; 3 the site could not be audited; 4 passed, but "
                       "an alert could not be delivered.")
    p.add_argument("url", metavar="URL")
    p.add_argument("--out", metavar="DIR", help="keep the full audit here (default: a temporary directory)")
    p.add_argument("--fail-under", type=float, metavar="SCORE", help="exit 1 when the total score is below SCORE")
    p.add_argument("--fail-on-inactive", action="store_true", help="exit 1 when any contact point is inactive")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML file (for CI test reports)")
    p.add_argument("--baseline", metavar="DIR[@WAVE]",
                   help="compare with an earlier audit of the site (its folder, or wave N of it as DIR@N): "
                   "a contact point that died or went, the site down, a new inactive one, a score drop of "
                   "[notify] score_drop points (default 10) or a failed 24/7 claim fails the check")
    p.add_argument("--notify", metavar="DEST", action="append",
                   help="send new failures against --baseline to DEST: webhook:https://..., webhook:env:NAME or "
                   "mailto:ADDRESS (repeatable; or [notify] in --config)")
    p.add_argument("--no-validate", action="store_true", help=argparse.SUPPRESS)
    add_report_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline
    from auditor.harvest.inputs import normalize_website

    if normalize_website(args.url) is None:
        print(f"auditor check: {args.url!r} is not an http(s) website URL", file=sys.stderr)
        return EXIT_USAGE
    # alerts: HTTP and SMTP clients, only when the command runs
    from auditor.alerts import baseline as base
    from auditor.alerts import changes, load_notify

    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="auditor-check-"))
    settings = settings_from(args, progress=False)
    # Both read before the audit: a wrong baseline or destination fails in a second, not after the crawl.
    reference = base.load_baseline(args.baseline, args.url) if args.baseline else None
    notify = load_notify(args.config, args.notify or (), allow_private=settings.allow_private_targets)
    if notify is not None and reference is None:
        print("auditor check: --notify needs --baseline (alerts are what changed against it)", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(out_dir, args.verbose)
    rc = exit_code(pipeline.run_audit(args.url, out_dir, settings).outcome)
    if rc != EXIT_OK:
        return rc
    if not args.no_report:  # kept in --out; the check prints its own outcome, not the audit's lines
        pipeline.write_report(out_dir, report_options(args))
    result, verdicts, card = pipeline.score_single(out_dir, args.weights)
    outcome = selfcheck.build_outcome(result, verdicts, card, args.fail_under, args.fail_on_inactive)
    failures: list[tuple[str, Any]] = []
    alerts: list[Any] = []
    if reference is not None:
        failures, alerts = _against(reference, out_dir, notify, args.weights)
        if failures or alerts:
            outcome.exit_reasons.append(f"{len(failures) + len(alerts)} new failure(s) against the baseline "
                                        f"{reference.label}")
    if args.json:
        doc = json.loads(selfcheck.print_json(outcome))
        if reference is not None:
            doc["baseline"] = {"from": reference.label, "new_failures": changes.payload(
                "check", reference.label, failures, None, rules=alerts)["alerts"]}
        print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    else:
        print(selfcheck.render_text(outcome))
        if reference is not None:
            print(_baseline_text(reference.label, failures, alerts))
    if args.junit:
        selfcheck.write_junit(outcome, Path(args.junit))
    delivered = True
    if notify is not None and (failures or alerts) and reference is not None:
        delivered = _notify(out_dir, notify, reference.label, failures, alerts, settings.nameserver)
    if not args.json:
        print(f"\nFull results and report in {out_dir}")
    if outcome.exit_reasons:
        return EXIT_CHECK_FAILED
    return EXIT_OK if delivered else EXIT_NOTIFY_FAILED


def _against(reference: Any, out_dir: Path, notify: Any, weights: str | None) -> tuple[
        list[tuple[str, Any]], list[Any]]:
    """The new failures of the site just audited in ``out_dir`` against ``reference``: its transitions,
    and its score drop and failed 24/7 claims (of the configured kinds and threshold, else the defaults)."""
    from auditor.alerts import baseline as base
    from auditor.alerts.config import DEFAULT_KINDS, SCORE_DROP
    from auditor.score import load_weights
    from auditor.store import open_store

    store = open_store(out_dir)
    try:
        companies, points = base.current_rows(store)
        company = next(iter(store.companies()), None)
        claims = base.claim_channels(store, out_dir)
    finally:
        store.close()
    alerts = base.rule_alerts(reference, companies[0], points, claims,
                              notify.kinds if notify is not None else DEFAULT_KINDS,
                              notify.score_drop if notify is not None else SCORE_DROP, company,
                              load_weights(weights) if weights else None)
    return base.new_failures(base.compare(reference, companies[0], points)), alerts


def _baseline_text(label: str, failures: list[tuple[str, Any]], alerts: list[Any]) -> str:
    if not failures and not alerts:
        return f"\nAgainst the baseline {label}: nothing got worse."
    lines = [f"\nAgainst the baseline {label}: {len(failures) + len(alerts)} new failure(s)"]
    for kind, t in failures:
        what = f"{t.kind} {t.value}" if t.kind else "the site"
        lines.append(f"  {kind}: {what} ({t.verdict_from or '-'} -> {t.verdict_to or '-'}"
                     f"{', ' + (t.reason_to or t.reason_from) if (t.reason_to or t.reason_from) else ''})")
    for a in alerts:
        lines.append(f"  {a.alert}: {f'{a.kind} {a.value}' if a.kind else 'the site'} ({a.summary})")
    return "\n".join(lines)


def _notify(out_dir: Path, config: Any, label: str, failures: list[tuple[str, Any]], alerts: list[Any],
            nameserver: str | None) -> bool:
    """Send the new failures once (recorded in the check's store); False when a destination failed."""
    from auditor.alerts import changes, deliver, summary
    from auditor.store import open_store
    from auditor.store.alerts import AlertDeliveries

    store = open_store(out_dir)
    try:
        started = store.run_info().get("started")
        event = f"check-{int(float(started or 0))}"
        body = changes.payload(event, label, failures, (out_dir / "report" / "index.html").resolve().as_uri(),
                               rules=alerts)
        deliveries = deliver(AlertDeliveries(store.engine), event, body, config,  # type: ignore[attr-defined]
                             nameserver=nameserver)
    finally:
        store.close()
    print(summary(deliveries), file=sys.stderr)
    return all(d.status in ("delivered", "already-delivered") for d in deliveries)
