#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report.py — the table of refpool-bench's results, drawn here only.

    report.py RAW.json [OUT.json] [--dat DIR] [--markdown] [--set KEY=VALUE]...

Reads the JSON that refpool-bench printed (RAW.json, or - for standard
input; anything outside the REFPOOL_BENCH_JSON_BEGIN/END lines is left
out, so refpool-bench's whole output can be piped in; bench/results.json
itself is read as well), adds the --set annotations under "host", writes
it to OUT.json if given, prints the table (each ratio beside its goal and
PASS/MISS, sustained figures first) and, with --dat, writes the two data
files bench/plot.gp draws: DIR/goals.dat (rows with a goal) and
DIR/info.dat (the others). --markdown prints instead the goal table of
the README's "Performance" section. Exit status 1 if the JSON is not what
refpool-bench writes (schema 2; bench/README.md describes it).
"""
import json
import math
import sys


BEGIN, END = "REFPOOL_BENCH_JSON_BEGIN", "REFPOOL_BENCH_JSON_END"


def between_markers(text):
    """The JSON document of refpool-bench's output, or all of a bare one."""
    lines = text.replace("\r", "").splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN):]:
        start = lines.index(BEGIN) + 1
        return "\n".join(lines[start:lines.index(END, start)])
    return text


def num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 1e6:
        return f"{v:.3g}"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def judged(r):
    """The figure a row's goal judges: its sustained one where it has one."""
    return r["sustained"] if r.get("sustained") else r


def ratio_text(f, spread=True):
    t = num(f.get("ratio"))
    if spread and f.get("ratio_spread") is not None:
        t += f" \u00b1{100 * f['ratio_spread']:.0f}%"
    return t


def table(doc):
    out = []
    out.append(f"{'row':<30} {'sustained':>15} {'synchronous':>15}  {'figure':>16}  "
               f"{'vs (reference)':<30} {'goal':<10} result")
    group = None
    for r in doc["rows"]:
        if r["group"] != group:
            group = r["group"]
            out.append(f"-- {group}")
        f = judged(r)
        sus = ratio_text(r["sustained"]) if r.get("sustained") else "-"
        vs = f"{r['vs']} {num(f['vs_value'])}"
        line = (f"{r['name']:<30} {sus:>15} {ratio_text(r):>15}  {num(f['value']):>9} "
                f"{r['unit']:<6}  {vs:<30} {r['goal']:<10} {r['result']}")
        if r.get("headroom") is not None:
            line += f" ({r['headroom']:.2f}x)"
        why = f.get("why") or r.get("why")
        if why:
            line += f"  [{why}]"
        out.append(line)
    for n in doc.get("notes", []):
        out.append(f"note: {n}")
    verdicts = [r["result"] for r in doc["rows"] if r["result"] != "-"]
    out.append(f"goals: {verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS"
               + (f", {verdicts.count('n/a')} not measured" if "n/a" in verdicts else "")
               + "\n(sustained: long runs back to back, what a program's loop sees; it is"
               + " what a goal judges where the row has it. synchronous: the best of short"
               + " runs with deferred work let finish between them. figure and vs: the judged"
               + " ones. ratio: of the best figures; \u00b1: its spread round by round, half"
               + " the IQR; (Nx): headroom, how far past the goal, >= 1 meets it)")
    return "\n".join(out)


def markdown(doc):
    """The goal table of the README's "Performance" section."""
    out = ["| figure | goal | sustained | synchronous | result |",
           "| --- | --- | --- | --- | --- |"]
    rows = [r for r in doc["rows"] if r["result"] != "-"]
    # issue 16's goals (the rows measured sustained) first
    rows.sort(key=lambda r: not r.get("sustained"))
    for r in rows:
        on_value = r["goal_on"] == "value"

        def fig(f, spread):
            if f.get("why") and f.get("ratio") is None:
                return "not measured"
            if on_value:
                return f"{num(f['value'])} B"
            return ratio_text(f, spread) + "\u00d7"

        what = r["name"] if on_value else r["ratio_def"]
        sus = fig(r["sustained"], False) if r.get("sustained") else "\u2014"
        res = r["result"]
        if r.get("headroom") is not None:
            res += f" ({r['headroom']:.2f}\u00d7)"
        elif res == "n/a":
            why = judged(r).get("why") or "no figure"
            res = why if why.startswith("not measured") else "not measured: " + why
        goal = r["goal"].replace("<=", "\u2264").replace(">=", "\u2265")
        out.append(f"| `{what}` | {goal} | {sus} | {fig(r, False)} | {res} |")
    return "\n".join(out)


def q(s):
    return '"' + s.replace('"', "'") + '"'


def write_dat(doc, d):
    with open(f"{d}/goals.dat", "w") as g, open(f"{d}/info.dat", "w") as f:
        g.write("# idx name headroom state(1 pass, 0 miss, -1 n/a) label\n")
        f.write("# idx name ratio label\n")
        gi = fi = 0
        for r in doc["rows"]:
            if r["result"] != "-":
                h = r.get("headroom")
                jf = judged(r)
                ratio = jf["value"] if r["goal_on"] == "value" else jf["ratio"]
                unit = " B" if r["goal_on"] == "value" else "x"
                if h is None:
                    state, h, label = -1, 1.0, "n/a"
                else:
                    state = 1 if h >= 1 else 0
                    label = f"{r['result']} {h:.2f}x"
                name = r["name"].replace("_vs_", "\\nvs ")
                shown = num(ratio) + unit if ratio is not None else "n/a"
                if r["goal_on"] == "ratio" and jf.get("ratio_spread") is not None:
                    shown += f" \u00b1{100 * jf['ratio_spread']:.0f}%"
                if r.get("sustained"):
                    shown += " sust."
                tic = f"{name}\\n{shown}\\n(goal {r['goal']})"
                g.write(f"{gi} {q(tic)} {h:.6g} {state} {q(label)}\n")
                gi += 1
            elif r.get("ratio") is not None and r["ratio"] > 0:
                f.write(f"{fi} {q(r['ratio_def'])} {r['ratio']:.6g} "
                        f"{q(num(r['ratio']) + 'x')}\n")
                fi += 1


def main(argv):
    args, dat, sets, md = [], None, {}, False
    i = 1
    while i < len(argv):
        if argv[i] == "--markdown":
            md = True
            i += 1
        elif argv[i] == "--dat" and i + 1 < len(argv):
            dat = argv[i + 1]
            i += 2
        elif argv[i] == "--set" and i + 1 < len(argv):
            k, _, v = argv[i + 1].partition("=")
            sets[k] = v
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) not in (1, 2):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        if args[0] == "-":
            text = sys.stdin.read()
        else:
            with open(args[0]) as fh:
                text = fh.read()
        doc = json.loads(between_markers(text))
        if doc.get("schema") != 2 or not isinstance(doc.get("rows"), list):
            raise ValueError("not refpool-bench's JSON (schema 2)")
    except (OSError, ValueError) as e:
        print(f"bench/report.py: {args[0]}: {e}", file=sys.stderr)
        return 1
    if sets:
        doc["host"] = sets
    if len(args) == 2:
        with open(args[1], "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    print(markdown(doc) if md else table(doc))
    if dat:
        write_dat(doc, dat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
