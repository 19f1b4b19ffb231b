"""The browser's chat check: does the widget's launcher appear after rendering?

Rendering itself, and the chat points only rendering shows, belong to harvest
(:mod:`auditor.harvest.browser`); this module only turns a render into
"browser-launcher" checks and verdicts, and merges them with the static ones.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from functools import cache
from typing import Any

from auditor import data, reasons
from auditor.extract.page import parse_page
from auditor.harvest.browser import (
    BrowserRenderer,
    RenderedPage,
    RenderResult,
    RequestRecord,
    provider_script_hosts,
    render_chat_page,
    script_state_specs,
)
from auditor.models import Check, ContactPoint, Subject, Verdict, VerdictValue

CHECK_NAME = "browser-launcher"
OPERATOR_CHECK = "operator-status"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


@cache
def rendered_markers() -> dict[str, dict[str, Any]]:
    """Per provider, the launcher elements that show its operator state (chat_operator.toml)."""
    table: dict[str, dict[str, Any]] = data.load("chat_operator.toml").get("rendered", {})
    return table


def script_requests(result: RenderResult, slug: str) -> list[RequestRecord]:
    """Requests for the provider's own hosts (its loader, widget and API)."""
    patterns = provider_script_hosts().get(slug, ())
    return [r for r in result.requests if any(p.search(r.url) for p in patterns)]



def _status_tag(status: int | None) -> str:
    if status in (404, 410):
        return reasons.HTTP_404
    if status is not None and status >= 500:
        return reasons.HTTP_5XX
    return reasons.HTTP_4XX



def launcher_check(cp: ContactPoint, result: RenderResult) -> Check:
    """The "browser-launcher" check of one chat point from one render."""
    t0 = time.perf_counter()
    slug = cp.value
    scripts = script_requests(result, slug)
    globals_ = result.globals.get(slug, [])
    sightings = [s for s in result.launchers if s.provider == slug]
    evidence: dict[str, Any] = {
        "provider": slug,
        "page_url": result.url,
        "final_url": result.final_url,
        "js_globals": list(globals_),
        "launchers": [s.to_dict() for s in sightings],
        "script_requests": [r.to_dict() for r in scripts[:20]],
        "requests_fulfilled": len(result.fulfilled),
        "requests_blocked": len(result.blocked),
        "blocked": [r.to_dict() for r in result.blocked[:20]],
        "console_errors": result.console_errors[:10],
    }
    loaded = [r for r in scripts if r.outcome == "fulfilled" and r.status and 200 <= r.status < 300]
    failed = [r for r in scripts if r not in loaded]
    verdict: VerdictValue
    if result.error and not result.html:
        verdict, reason = "unknown", result.error
        message = f"the page could not be rendered: {result.message or reasons.message(result.error) or result.error}"
    elif any(s.visible for s in sightings):
        verdict, reason = "active", reasons.LAUNCHER_VISIBLE
        shown = next(s for s in sightings if s.visible)
        message = f"the {slug} launcher ({shown.marker}) is visible after rendering"
    elif loaded or globals_ or sightings:
        verdict, reason = "unknown", reasons.LAUNCHER_HIDDEN
        what = ", ".join([*(f"window.{g}" for g in globals_), *(s.marker for s in sightings)]) or loaded[0].url
        message = f"the {slug} widget loaded ({what}) but no launcher is visible"
    elif failed:
        first = failed[0]
        verdict = "unknown"
        reason = first.reason or _status_tag(first.status)
        message = f"the {slug} widget script did not load: {first.url} ({first.message or reason})"
    else:
        verdict, reason = "unknown", reasons.WIDGET_NOT_LOADED
        message = f"no sign of {slug} after rendering (no script request, global or launcher)"
    return Check(name=CHECK_NAME, verdict=verdict, reason=reason, message=message, evidence=evidence,
                 started_at=result.started_at, duration_ms=(time.perf_counter() - t0) * 1000)


def _shown_ids(result: RenderResult) -> dict[str, bool]:
    """Every element id of the rendered DOM, and whether its inline style leaves it shown."""
    page = parse_page(result.html, result.final_url or result.url)
    styles = dict(page.attribute_pairs("id", "style"))
    return {i: not _HIDDEN_STYLE.search(styles.get(i, "")) for i in page.id_values}


def rendered_operator_check(cp: ContactPoint, result: RenderResult) -> Check | None:
    """The operator state the rendered launcher shows, where the provider's markers are sourced.

    Salesforce's button code ships an online and an offline element per chat button and
    its script shows the one that applies: an offline element shown with no online one
    shown means nobody answers. Both shown, or neither (the script did not decide), says
    nothing. Providers without sourced markers get no check.
    """
    spec = rendered_markers().get(cp.value)
    if spec is None or not result.html:
        return None
    t0 = time.perf_counter()
    shown = _shown_ids(result)

    def matching(prefixes: list[str]) -> dict[str, bool]:
        return {i: v for i, v in shown.items() if any(i.startswith(p) for p in prefixes)}

    offline, online = matching(list(spec["offline"])), matching(list(spec.get("online", [])))
    if not offline and not online:
        return None
    on_shown = sorted(i for i, v in online.items() if v)
    off_shown = sorted(i for i, v in offline.items() if v)
    verdict: VerdictValue
    if on_shown and not off_shown:
        verdict, reason = "active", reasons.OPERATOR_ONLINE
        message = f"the rendered page shows the online launcher ({on_shown[0]})"
    elif off_shown and not on_shown:
        verdict, reason = "inactive", reasons.OPERATOR_OFFLINE
        message = f"the rendered page shows the offline launcher ({off_shown[0]}), not the online one"
    else:
        verdict, reason = "unknown", reasons.OPERATOR_UNKNOWN
        message = ("the rendered page shows both launchers" if on_shown else
                   "the rendered page shows neither launcher: the provider's script did not decide")
    evidence = {"provider": cp.value, "operator": reason.removeprefix("operator-"), "rendered": True,
                "online_elements": {k: online[k] for k in sorted(online)},
                "offline_elements": {k: offline[k] for k in sorted(offline)}, "source": spec["source"]}
    return Check(name=OPERATOR_CHECK, verdict=verdict, reason=reason, message=message, evidence=evidence,
                 started_at=result.started_at, duration_ms=(time.perf_counter() - t0) * 1000)


def _documented(value: Any, values: list[Any]) -> bool:
    """``value`` is one of ``values`` with the same type (1 is not true, "false" not false)."""
    return any(type(v) is type(value) and v == value for v in values)


def script_operator_check(cp: ContactPoint, result: RenderResult) -> Check | None:
    """The operator state the widget's documented JS API gave in the rendered page.

    Asked only where the widget loaded (its globals present); an API that never became
    ready, or a value the provider does not document as online or offline, is unknown.
    """
    spec = script_state_specs().get(cp.value)
    state = result.script_state.get(cp.value)
    if spec is None or state is None:
        return None
    t0 = time.perf_counter()
    value = state.get("value")
    verdict: VerdictValue
    if not state.get("ready"):
        verdict, reason = "unknown", reasons.OPERATOR_UNKNOWN
        message = f"the {cp.value} widget's API ({spec['expression']}) did not become ready"
    elif _documented(value, spec["online"]):
        verdict, reason = "active", reasons.OPERATOR_ONLINE
        message = f"the {cp.value} widget's API says online ({spec['expression']} = {value!r})"
    elif _documented(value, spec["offline"]):
        verdict, reason = "inactive", reasons.OPERATOR_OFFLINE
        message = f"the {cp.value} widget's API says nobody answers ({spec['expression']} = {value!r})"
    else:
        verdict, reason = "unknown", reasons.OPERATOR_UNKNOWN
        message = f"the {cp.value} widget's API gave {value!r}, neither online nor offline"
    evidence = {"provider": cp.value, "operator": reason.removeprefix("operator-"), "script": True,
                "expression": spec["expression"], "value": value, "ready": bool(state.get("ready")),
                "error": state.get("error", ""), "source": spec["source"]}
    return Check(name=OPERATOR_CHECK, verdict=verdict, reason=reason, message=message, evidence=evidence,
                 started_at=result.started_at, duration_ms=(time.perf_counter() - t0) * 1000)


def page_verdicts(page: RenderedPage) -> list[Verdict]:
    """A browser-launcher verdict for every chat point on a rendered page (harvested or new)."""
    verdicts: list[Verdict] = []
    seen: set[str] = set()
    for cp in [*page.harvested, *page.new]:
        if cp.value in seen:
            continue
        seen.add(cp.value)
        check = launcher_check(cp, page.result)
        flags: tuple[str, ...] = ("browser-only",) if cp in page.new else ()
        checks: tuple[Check, ...] = (check,)
        operator = rendered_operator_check(cp, page.result) or script_operator_check(cp, page.result)
        if operator is not None:
            checks += (operator,)
            if operator.reason != reasons.OPERATOR_UNKNOWN:
                flags += (operator.reason,)
        verdicts.append(Verdict(kind="chat", value=cp.value, verdict=check.verdict, reason=check.reason,
                                message=check.message, checks=checks, flags=flags))
    return verdicts


def company_browser_verdicts(pages: Iterable[RenderedPage]) -> dict[tuple[Subject, str], Verdict]:
    """One browser verdict per chat point of a company: the first page that shows it decides."""
    mine: dict[tuple[Subject, str], Verdict] = {}
    for page in pages:
        for v in page_verdicts(page):
            mine.setdefault((v.kind, v.value), v)
    return mine


async def browser_chat_check(
    renderer: BrowserRenderer, page_url: str, harvested: Iterable[ContactPoint]
) -> tuple[list[ContactPoint], list[Verdict]]:
    """Render ``page_url``; return chat points found only after rendering and a
    browser-launcher verdict for every chat point on that page (harvested or new).

    Harvested points of other pages are ignored: the render says nothing about them.
    """
    page = await render_chat_page(renderer, page_url, harvested)
    return list(page.new), page_verdicts(page)


def merge_browser(verdict: Verdict | None, browser: Verdict) -> Verdict:
    """A chat verdict with the browser's launcher check added.

    A script that no longer loads stays inactive; a launcher seen on screen
    makes an otherwise undecided widget active; the rest keeps its verdict. The
    render's operator state is added where the static checks found none.
    """
    if verdict is None:
        return browser
    checks = verdict.checks + browser.checks
    if _operator_flags(verdict, browser):  # the render decided what the endpoint could not: it reads first
        undecided = tuple(c for c in verdict.checks if c.name == OPERATOR_CHECK and c.reason == reasons.OPERATOR_UNKNOWN)
        checks = tuple(c for c in checks if c not in undecided) + undecided
    if verdict.verdict != "inactive" and browser.verdict == "active":
        others = tuple(f for f in browser.flags if f not in _OPERATOR_FLAGS)
        return Verdict(verdict.kind, verdict.value, "active", browser.reason, browser.message, checks,
                       tuple(dict.fromkeys(verdict.flags + others + _operator_flags(verdict, browser))))
    return Verdict(verdict.kind, verdict.value, verdict.verdict, verdict.reason, verdict.message, checks,
                   verdict.flags + _operator_flags(verdict, browser))


_OPERATOR_FLAGS = (reasons.OPERATOR_ONLINE, reasons.OPERATOR_OFFLINE)


def _operator_flags(verdict: Verdict, browser: Verdict) -> tuple[str, ...]:
    """The render's operator flag, unless the provider's status endpoint already gave one.

    The status endpoint is asked directly and counts first; the rendered launcher
    fills in when it had nothing to say (or was not asked).
    """
    if verdict.verdict == "inactive" or any(f in _OPERATOR_FLAGS for f in verdict.flags):
        return ()
    return tuple(f for f in browser.flags if f in _OPERATOR_FLAGS)
