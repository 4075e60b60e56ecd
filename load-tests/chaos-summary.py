#!/usr/bin/env python3
"""Summarises chaos runs (`scale-runs.sh chaos`) as the Markdown tables of RELIABILITY.md.

    load-tests/chaos-summary.py target/load-tests/chaos-runs/*/

Each folder holds a run's report.json and fans.json. Per run: the audit's checks that say
whether a fault cost anything (seats sold twice, confirmed bookings lost, fans who lost
their place), totals, errors by code, retries, bookings/s. Per fault: its command, the burst
of errors the report found, and what the error count does not show: fans retry what a part
being away answers (BUSY, GATE_UNAVAILABLE...), so a fault mostly shows as answers that
stop coming. The answers per second in the 10 s before the fault are compared with the
seconds from its start to 10 s after its command returned (the report's settle window):
the lowest second, the seconds with no answer at all, the seconds under half the rate
before, and the bookings made in each.
"""

import json
import sys
from collections import Counter
from pathlib import Path

SETTLE_S = 10
BEFORE_S = 10
AUDIT = {
    "no seat in two confirmed bookings": "seats sold twice",
    "what fans were told matches the database": "confirmed bookings lost",
    "seats BOOKED = seats in confirmed bookings": "seats BOOKED = in confirmed bookings",
    "every confirmed booking captured exactly once": "one capture per booking",
    "every confirmed booking was told to its fan": "charged but not told (confirmed bookings no fan heard of)",
    "every fan kept their place": "fans who lost their place",
}


def answers(timeline, second):
    return sum(op["count"] for op in timeline.get(str(second), {}).values())


def summarise(folder):
    folder = Path(folder)
    report = json.loads((folder / "report.json").read_text())
    fans = json.loads((folder / "fans.json").read_text())
    timeline = report["timeline"]
    booked = sorted(f["booked_ms"] / 1e3 for f in fans if f.get("booked_ms") is not None)
    out = [f"### {folder.name}", ""]
    out.append(
        f"{report['seconds']:.0f} s, {report['requests']:,} requests, {report['errors']} errors "
        f"({100 * report['error_rate']:.3f}%), result {'PASS' if report['passed'] else 'FAIL'}"
    )
    codes = Counter()
    for op in report["ops"]:
        for code, n in op["errors"].items():
            codes[f"{op['name']} {code}"] += n
    out.append(
        "errors by operation and code: "
        + (", ".join(f"{c} {n}" for c, n in codes.most_common()) or "none")
    )
    counters = report["counters"]
    retried = {k: v for k, v in counters.items() if k.startswith("transient.") and k not in
               ("transient.answers", "transient.retries")}
    out.append(
        f"retried to an answer: BUSY {counters.get('busy.answers', 0):,}, "
        f"transient {counters.get('transient.answers', 0):,} ("
        + ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(retried.items())
                    if k.split('.', 1)[1].isupper()) + "; by operation: "
        + ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(retried.items())
                    if not k.split('.', 1)[1].isupper()) + ")"
    )
    out.append(
        f"subscriptions: {counters.get('ws.opened', 0):,} opened, {counters.get('ws.dropped', 0):,} "
        f"dropped, {counters.get('sub.fallback_to_polling', 0):,} fell back to polling"
    )
    if booked:
        span = max(booked[-1] - booked[0], 1e-9)
        best = max(sum(1 for b in booked if s <= b < s + 10) for s in range(int(booked[-1]) + 1))
        out.append(
            f"bookings: {len(booked):,} ({counters.get('seats.booked', 0):,} seats); "
            f"{len(booked) / span:.1f}/s on average from the first to the last ({span:.0f} s), "
            f"{best / 10:.1f}/s in the best 10 s; 99% of them by {booked[int(0.99 * (len(booked) - 1))]:.0f} s"
        )
    out.append("")
    out.append("| audit | result |")
    out.append("|---|---|")
    names = set()
    for check in report["audit"]["checks"]:
        names.add(check["name"])
        if check["name"] in AUDIT:
            mark = "PASS" if check["passed"] else "**FAIL**"
            out.append(f"| {AUDIT[check['name']]} | {mark}: {check['detail']} |")
    if "every confirmed booking was told to its fan" not in names:
        # Runs before that check: recomputed as confirmed bookings minus the distinct bookings
        # fans were told of (the check above says each of those is confirmed).
        told = len({f["booking"] for f in fans if f.get("booking")})
        confirmed = report["audit"]["bookings"].get("CONFIRMED", 0)
        mark = "PASS" if confirmed == told else "**FAIL**"
        out.append(
            f"| charged but not told (recomputed from fans.json) | {mark}: {confirmed} confirmed "
            f"bookings; {confirmed - told} of them never told to the fan who paid |"
        )
    out.append("")
    out.append(
        "| fault | command (s after first arrival) | error burst | answers/s before -> lowest | "
        "seconds with no answer / under half | bookings 10 s before / in window |"
    )
    out.append("|---|---|---|---|---|---|")
    for missed in report.get("faults_missed", []):
        out.append(f"| {missed['kind']} | never injected (due at {missed['at_s']:.0f} s, after the run) | | | | |")
    for fault in report.get("faults", []):
        start, end = fault["started_s"], fault["ended_s"]
        window = range(int(start), int(end + 0.999) + SETTLE_S + 1)
        before = [answers(timeline, s) for s in range(max(int(start) - BEFORE_S, 0), int(start))]
        rate = sum(before) / max(len(before), 1)
        during = [answers(timeline, s) for s in window]
        silent = sum(1 for a in during if a == 0)
        low = sum(1 for a in during if a < rate / 2)
        b_before = sum(1 for b in booked if start - BEFORE_S <= b < start)
        b_during = sum(1 for b in booked if window.start <= b < window.stop)
        burst = fault["burst"]
        if burst["seconds"]:
            text = (
                f"{burst['seconds']} s (s {burst['first_s']}-{burst['last_s']}): {burst['errors']} errors "
                f"in {burst['requests']} requests ("
                + ", ".join(f"{c} {n}" for c, n in sorted(burst["codes"].items())) + ")"
            )
        else:
            text = "none"
        out.append(
            f"| {fault['kind']} | {'ok' if fault['ok'] else '**FAILED**'}, {start:.1f} -> {end:.1f} "
            f"({end - start:.1f} s) | {text} | {rate:.0f} -> {min(during)} | {silent} / {low} of {len(during)} "
            f"| {b_before} / {b_during} in {len(during)} s |"
        )
    longest = report.get("longest_error_burst", {})
    if longest.get("seconds"):
        out.append("")
        out.append(
            f"longest error burst of the run: {longest['seconds']} s (s {longest['first_s']}-{longest['last_s']}), "
            f"{longest['errors']} errors in {longest['requests']} requests ("
            + ", ".join(f"{c} {n}" for c, n in sorted(longest["codes"].items())) + ")"
        )
    for note in report.get("notes", []):
        if "outside the test" in note or "Load average" in note:
            out.append(f"\n{note}")
    return "\n".join(out)


if __name__ == "__main__":
    print("\n\n".join(summarise(d) for d in sys.argv[1:]))
