"""Building schedules from tokens: which days have which spans, rendered OSM-style.

A schedule renders as an ``opening_hours``-like string ("Mo-Fr 08:00-17:00; Sa 09:00-13:00"
or "24/7") so that one schedule seen on several pages deduplicates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.extract.hours.lexing import Token
from auditor.extract.hours.vocabulary import (
    DAYS,
    FULL_DAY,
    MAX_BLOCK_HOP,
    MAX_GAP_CHARS,
    MAX_GAP_WORDS,
    Lang,
    vocab,
)


@dataclass
class Schedule:
    """Spans gathered from neighbouring tokens: one published set of hours."""

    per_day: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    bare: set[tuple[int, int]] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)
    always: bool = False
    pieces: dict[int, list[int]] = field(default_factory=dict)  # block -> [start, end]
    exprs: set[int] = field(default_factory=set)
    last_block: int = -1
    kind: str = "days"  # "days" (text), "always" (a lone always-open phrase), "structured"

    def touch(self, block: int, start: int, end: int) -> None:
        piece = self.pieces.setdefault(block, [start, end])
        piece[0], piece[1] = min(piece[0], start), max(piece[1], end)
        self.last_block = max(self.last_block, block)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_runs(days: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAYS[run[0]]}-{DAYS[run[-1]]}")
        else:
            parts.extend(DAYS[d] for d in run)
    return ",".join(parts)


def render(sched: Schedule) -> tuple[str, list[dict[str, Any]], bool] | None:
    """(value, spans, always_open) for a schedule, or None when it says nothing."""
    per_day = {d: set(s) for d, s in sched.per_day.items()}
    if sched.always:
        for d in range(7):
            per_day.setdefault(d, set()).add(FULL_DAY)
    if per_day:
        if len(per_day) == 7 and all(s == {FULL_DAY} for s in per_day.values()):
            spans = [{"days": list(DAYS), "open": "00:00", "close": "24:00"}]
            return "24/7", spans, True
        groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for d in sorted(per_day):
            groups.setdefault(tuple(sorted(per_day[d])), []).append(d)
        rules, spans = [], []
        for times, days in groups.items():
            rules.append(f"{_day_runs(days)} {','.join(f'{_fmt(o)}-{_fmt(c)}' for o, c in times)}")
            for o, c in times:
                spans.append({"days": [DAYS[d] for d in days], "open": _fmt(o), "close": _fmt(c)})
        return "; ".join(rules), spans, False
    if sched.bare:
        bare = sorted(sched.bare)
        spans = [{"days": [], "open": _fmt(o), "close": _fmt(c)} for o, c in bare]
        return ",".join(f"{_fmt(o)}-{_fmt(c)}" for o, c in bare), spans, False
    return None


_WORDS = re.compile(r"[^\W\d_]+")


class Parser:
    """Pairs day expressions with the time ranges that follow them, across blocks."""

    def __init__(self, blocks: Sequence[str], tokens: list[Token], langs: dict[int, Lang]) -> None:
        self.blocks = blocks
        self.toks = tokens
        self.langs = langs
        self.schedules: list[Schedule] = []
        self.cur: Schedule | None = None
        self.expr_id = 0
        self.hints = vocab().hints
        # the walk's state: the day expression in force and what was last added
        self.ctx: list[int] | None = None
        self.ctx_tok: Token | None = None
        self.ctx_used = False
        self.pending_pause = False
        self.last_added: tuple[Schedule, Sequence[int] | None, tuple[int, int]] | None = None

    def _gap_ok(self, a: Token, b: Token) -> bool:
        if a.block != b.block:
            return False
        gap = self.blocks[a.block][a.end : b.start]
        if not gap:
            return True
        if len(gap) > MAX_GAP_CHARS or any(map(str.isdigit, gap)):
            return False
        return len(_WORDS.findall(gap)) <= MAX_GAP_WORDS

    def _day_expr(self, i: int, end: int | None = None) -> tuple[list[int], int]:
        """Days named by the expression starting at token ``i`` (read up to token ``end``);
        index after it."""
        toks = self.toks
        end = len(toks) if end is None else end
        lang = self.langs[toks[i].block]
        days = list(toks[i].days)
        j = i + 1
        while j < end:
            prev, tok = toks[j - 1], toks[j]
            if tok.kind in ("sep", "list") and j + 1 < end and toks[j + 1].kind == "day":
                nxt = toks[j + 1]
                if not (self._gap_ok(prev, tok) and self._gap_ok(tok, nxt)):
                    break
                if tok.kind == "sep" and len(prev.days) == 1 and len(nxt.days) == 1:
                    days.extend(_wrap_range(prev.days[0], nxt.days[0])[1:])
                else:
                    days.extend(nxt.days)
                j += 2
                continue
            if tok.kind == "day" and prev.kind == "day" and self._gap_ok(prev, tok):
                word = prev.text.lower().rstrip(".")
                if (
                    lang.range_suffixes
                    and word.endswith(lang.range_suffixes)
                    and len(prev.days) == 1
                ):
                    days.extend(_wrap_range(prev.days[0], tok.days[0])[1:])
                else:
                    days.extend(tok.days)
                j += 1
                continue
            break
        seen: list[int] = []
        for d in days:
            if d not in seen:
                seen.append(d)
        return seen, j

    def _schedule_for(self, block: int, days: Sequence[int] | None, expr: int) -> Schedule:
        cur = self.cur
        fresh = (
            cur is None
            or cur.kind != "days"
            or block - cur.last_block > MAX_BLOCK_HOP
            or (days is not None and expr not in cur.exprs and any(d in cur.per_day for d in days))
        )
        if fresh:
            cur = Schedule()
            self.schedules.append(cur)
            self.cur = cur
        assert cur is not None
        cur.exprs.add(expr)
        return cur

    def _add(
        self,
        days: Sequence[int] | None,
        span: tuple[int, int],
        tok: Token,
        expr: int,
        first: Token | None,
    ) -> Schedule:
        sched = self._schedule_for(tok.block, days, expr)
        if days is None:
            sched.bare.add(span)
        else:
            for d in days:
                sched.per_day.setdefault(d, set()).add(span)
        if first is not None:
            sched.touch(first.block, first.start, first.end)
        sched.touch(tok.block, tok.start, tok.end)
        return sched

    def _hinted(self, block: int) -> bool:
        return any(
            self.hints.search(self.blocks[b])
            for b in (block, block - 1)
            if 0 <= b < len(self.blocks)
        )

    def run(self) -> list[Schedule]:
        """Walk the tokens once: a day expression is the context its time ranges join."""
        toks = self.toks
        i = 0
        while i < len(toks):
            tok = toks[i]
            prev = toks[i - 1] if i else None
            self._expire_context(prev, tok)
            jump: int | None = None
            if tok.kind == "day":
                jump = self._on_day(i, tok)
            elif tok.kind == "trange" and tok.span is not None:
                jump = self._on_trange(i, tok, tok.span)
            elif tok.kind == "closed" and self.ctx is not None and self.ctx_tok is not None:
                self._on_closed(tok, self.ctx, self.ctx_tok)
            elif tok.kind == "always":
                self._on_always(tok, prev)
            elif tok.kind == "pause":
                self._on_pause(i, tok, prev)
            i = jump if jump is not None else i + 1
        return _fold_closed(self.schedules)

    def _expire_context(self, prev: Token | None, tok: Token) -> None:
        """A day expression stops applying past a used block, two blocks on, or a long gap."""
        if prev is None or self.ctx is None or self.ctx_tok is None:
            return
        if prev.block != tok.block:
            if self.ctx_used or tok.block - self.ctx_tok.block > 1:
                self.ctx = None
            self.pending_pause = False
        elif not self._gap_ok(prev, tok):
            self.ctx = None

    def _on_day(self, i: int, tok: Token) -> int:
        self.ctx, j = self._day_expr(i)
        self.ctx_tok, self.ctx_used = tok, False
        self.expr_id += 1
        return j

    def _on_trange(self, i: int, tok: Token, span: tuple[int, int]) -> int | None:
        if self.pending_pause:  # "pause 12-13": the range is the pause, not hours
            self.pending_pause = False
        elif self.ctx is not None:
            sched = self._add(self.ctx, span, tok, self.expr_id, self.ctx_tok)
            self.last_added, self.ctx_used = (sched, self.ctx, span), True
        elif tok.timeish:
            jump = self._days_after(i, tok, span)
            if jump is not None:
                return jump
            if self._hinted(tok.block):
                sched = self._add(None, span, tok, -1, None)
                self.last_added = (sched, None, span)
        return None

    def _days_after(self, i: int, tok: Token, span: tuple[int, int]) -> int | None:
        """A time range followed by its days ("9-17 Mo-Fr"): the index after them, or None."""
        toks = self.toks
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None or nxt.kind != "day" or not self._gap_ok(tok, nxt):
            return None
        days, j = self._day_expr(i + 1)
        after = toks[j] if j < len(toks) else None
        if after and after.kind == "trange" and self._gap_ok(toks[j - 1], after):
            return None  # the days lead the next range instead
        if after and after.kind == "closed" and self._gap_ok(toks[j - 1], after):
            return self._closed_after(i, j, tok, span)
        self.expr_id += 1
        self._add(days, span, tok, self.expr_id, nxt)
        sched = self.cur
        assert sched is not None
        sched.touch(toks[j - 1].block, toks[j - 1].start, toks[j - 1].end)
        return j

    def _closed_after(self, i: int, j: int, tok: Token, span: tuple[int, int]) -> int | None:
        """A time range followed by days and a closed word (tokens ``i + 1`` to ``j``).

        "9-18 (Sat, Sun closed)", "9:00～18:00（土日祝日を除く）": every day named is closed, so
        the range keeps no days (None: the walk reads the days and the closed word next).
        "9-17 Mon-Fri, Sun closed": a day range then a list names the range's days first
        and the closed ones after the list's last separator, where the walk goes on.
        """
        toks = self.toks
        expr = range(i + 1, j)
        lists = [k for k in expr if toks[k].kind == "list"]
        if not lists or not any(toks[k].kind == "sep" for k in expr if k < lists[-1]):
            return None
        days, _end = self._day_expr(i + 1, lists[-1])
        self.expr_id += 1
        self._add(days, span, tok, self.expr_id, toks[i + 1])
        sched = self.cur
        assert sched is not None
        sched.touch(toks[lists[-1] - 1].block, toks[lists[-1] - 1].start, toks[lists[-1] - 1].end)
        return lists[-1] + 1

    def _on_closed(self, tok: Token, days: list[int], ctx_tok: Token) -> None:
        sched = self._schedule_for(tok.block, None, self.expr_id)
        sched.closed.update(days)
        sched.touch(ctx_tok.block, ctx_tok.start, ctx_tok.end)
        sched.touch(tok.block, tok.start, tok.end)
        self.ctx_used = True

    def _on_always(self, tok: Token, prev: Token | None) -> None:
        if self.ctx is not None and self.ctx_tok is not None and prev is not None and self._gap_ok(prev, tok):
            self._add(self.ctx, FULL_DAY, tok, self.expr_id, self.ctx_tok)
            self.ctx_used = True
        else:
            sched = Schedule(always=True, kind="always")
            sched.touch(tok.block, tok.start, tok.end)
            self.schedules.append(sched)

    def _on_pause(self, i: int, tok: Token, prev: Token | None) -> None:
        toks = self.toks
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is not None and nxt.kind == "trange" and self._gap_ok(tok, nxt):
            self.pending_pause = True
        elif prev is not None and prev.kind == "trange" and self._gap_ok(prev, tok) and self.last_added:
            sched, days, span = self.last_added
            _remove(sched, days, span)
            self.last_added = None


def _fold_closed(schedules: list[Schedule]) -> list[Schedule]:
    """Give "Sun: closed" said apart from the hours to the nearest schedule, then drop it.

    Closed days are part of a schedule (``details["closed"]``), not hours of their own.
    """
    kept = [s for s in schedules if s.per_day or s.bare or s.always]
    for sched in schedules:
        if sched in kept or not sched.closed or not sched.pieces:
            continue
        block = min(sched.pieces)
        near = [k for k in kept if k.pieces and abs(min(k.pieces) - block) <= 2 * MAX_BLOCK_HOP + 2]
        if near:
            target = min(near, key=lambda k: abs(min(k.pieces) - block))
            target.closed.update(sched.closed)
            for b, (start, end) in sched.pieces.items():
                target.touch(b, start, end)
    return kept


def _wrap_range(first: int, last: int) -> list[int]:
    """Days from ``first`` to ``last`` inclusive, wrapping past Sunday (Sa-Mo)."""
    if last >= first:
        return list(range(first, last + 1))
    return list(range(first, 7)) + list(range(0, last + 1))


def _remove(sched: Schedule, days: Sequence[int] | None, span: tuple[int, int]) -> None:
    if days is None:
        sched.bare.discard(span)
        return
    for d in days:
        spans = sched.per_day.get(d)
        if spans is not None:
            spans.discard(span)
            if not spans:
                del sched.per_day[d]
