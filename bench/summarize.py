#!/usr/bin/env python3
"""Turns one bench/run_all.sh results directory into Markdown tables (medians of the runs)."""
import csv, json, os, re, statistics, sys

out = sys.argv[1]
P = lambda f: os.path.join(out, f)
med = lambda xs: statistics.median(xs) if xs else float("nan")


def rng(xs, fmt="{:,.0f}"):
    return (fmt.format(min(xs)) + "–" + fmt.format(max(xs))) if xs else "–"


print("# rahnama benchmark summary\n")
if os.path.exists(P("machine.txt")):
    print("```\n" + open(P("machine.txt")).read().strip() + "\n```\n")

if os.path.exists(P("ingest.tsv")):
    rows = list(csv.DictReader(open(P("ingest.tsv")), delimiter="\t"))
    print("## Webhook ingest (wrk, POST /webhooks/whatsapp, signed unique text messages)\n")
    print("| conns | system | req/s (median) | range | p50 ms | p99 ms | server CPU µs/req | non-2xx | socket errors | rows ≥ acked | peak RSS MB |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|---|---:|")
    ratios = {}
    for c in ("1", "32", "128"):
        per = {}
        for sysname in ("trivial", "rahnama"):
            rs = [r for r in rows if r["conns"] == c and r["system"] == sysname]
            if not rs:
                continue
            rps = [float(r["req_s"]) for r in rs]
            per[sysname] = {r["run"]: float(r["req_s"]) for r in rs}
            ok = ",".join(sorted(set(r["rows_ok"] for r in rs)))
            hwm = [int(r["vmhwm_kb"]) for r in rs if r["vmhwm_kb"] not in ("-", "")]
            print(f"| {c} | {sysname} | {med(rps):,.0f} | {rng(rps)} | {med([float(r['p50_ms']) for r in rs]):.2f} | "
                  f"{med([float(r['p99_ms']) for r in rs]):.2f} | {med([float(r['cpu_us_per_req']) for r in rs]):.0f} | "
                  f"{sum(int(r['non2xx']) for r in rs)} | {sum(int(r['socket_errors']) for r in rs)} | {ok} | "
                  f"{(max(hwm) / 1024):.1f} |" if hwm else
                  f"| {c} | {sysname} | {med(rps):,.0f} | {rng(rps)} | {med([float(r['p50_ms']) for r in rs]):.2f} | "
                  f"{med([float(r['p99_ms']) for r in rs]):.2f} | {med([float(r['cpu_us_per_req']) for r in rs]):.0f} | "
                  f"{sum(int(r['non2xx']) for r in rs)} | {sum(int(r['socket_errors']) for r in rs)} | – | – |")
        if "trivial" in per and "rahnama" in per:
            pr = [per["rahnama"][k] / per["trivial"][k] for k in per["rahnama"] if k in per["trivial"]]
            ratios[c] = (med(list(per["rahnama"].values())) / med(list(per["trivial"].values())), pr)
    print("\n| conns | rahnama / trivial (ratio of medians) | per-run ratios |")
    print("|---:|---:|---|")
    for c, (r, pr) in ratios.items():
        print(f"| {c} | **{r:.3f}** | {', '.join(f'{x:.3f}' for x in pr)} |")
    served = [r for r in rows if r["system"] == "rahnama" and r.get("answered") not in (None, "", "-")]
    if served:
        print("\nDid rahnama keep answering during the burst? At the server's stop: inbound messages answered; urgent "
              "ones (by the turn's decision, or by the ingest hint while still unanswered) and how many of them were "
              "still waiting; an urgent turn's time from storing to its committed reply (medians of the runs).\n")
        print("| conns | stored | answered | urgent | urgent still waiting | urgent turn p50 ms | urgent turn p99 ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        num = lambda rs, k: [float(r[k]) for r in rs if r[k] not in ("", "-")]
        for c in ("1", "32", "128"):
            rs = [r for r in served if r["conns"] == c]
            if rs:
                print(f"| {c} | {med(num(rs, 'rows_in')):,.0f} | {med(num(rs, 'answered')):,.0f} | {med(num(rs, 'urgent_in')):,.0f} | "
                      f"{med(num(rs, 'urgent_waiting')):,.0f} | {med(num(rs, 'urgent_turn_p50_ms')):.0f} | {med(num(rs, 'urgent_turn_p99_ms')):.0f} |")
    loads = [float(r["loadavg"]) for r in rows]
    print(f"\n1-min load average at the start of the runs: {min(loads):.2f}–{max(loads):.2f}\n")


def jl(f):
    return [json.loads(l) for l in open(P(f)) if l.strip().startswith("{")] if os.path.exists(P(f)) else []


st = jl("e2e_steady.jsonl")
if st:
    print("## End to end at a steady 500 msg/s (open loop, message in → first reply at the fake Graph API)\n")
    print("| run | achieved msg/s | measured msgs | no reply | non-200 | e2e p50 ms | e2e p90 ms | e2e p99 ms | e2e max ms | webhook ack p99 ms | send lag p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in st:
        e, a, l = s["e2e"], s["webhook_ack"], s["send_lag"]
        print(f"| {s['tag']} | {s['achieved_rate']:.0f} | {s['measured']} | {s['no_reply']} | {s['non200']} | {e.get('p50_ms', float('nan')):.1f} | "
              f"{e.get('p90_ms', float('nan')):.1f} | {e.get('p99_ms', float('nan')):.1f} | {e.get('max_ms', float('nan')):.1f} | {a.get('p99_ms', float('nan')):.1f} | {l.get('p99_ms', float('nan')):.1f} |")
    print(f"| **median** | | | | | **{med([s['e2e'].get('p50_ms', float('nan')) for s in st]):.1f}** | | **{med([s['e2e'].get('p99_ms', float('nan')) for s in st]):.1f}** | | | |\n")

bl = jl("e2e_backlog.jsonl")
if bl:
    print("## Backlog of 10,000 ordinary messages (--send-rate 10000) with urgent messages on top\n")
    print("| run | post s (msg/s) | replied | drain s from first post | drain s after all acked | last reply s | graph requests | urgent sent | urgent no reply | urgent p50 ms | urgent p99 ms | urgent max ms | backlog left at first/last urgent |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    allu = []
    for b in bl:
        u = b["urgent"]
        allu += b.get("urgent_latencies_ms", [])
        print(f"| {b['tag']} | {b['post_s']:.2f} ({b['post_rate']:.0f}) | {b['replied']} | {b['drain_s_from_first_post'] if b['drained'] else 'not drained'} | "
              f"{b['drain_s_from_all_acked'] if b['drained'] else '–'} | {b['all_replies_s_from_first_post']} | {b['graph_requests']} | {b['urgent_sent']} | {b['urgent_no_reply']} | "
              f"{u.get('p50_ms', float('nan')):.1f} | {u.get('p99_ms', float('nan')):.1f} | {u.get('max_ms', float('nan')):.1f} | "
              f"{b.get('backlog_left_at_first_urgent', '–')}/{b.get('backlog_left_at_last_urgent', '–')} |")
    d = [b["drain_s_from_first_post"] for b in bl if b["drained"]]
    allu.sort()
    pct = lambda p: allu[min(len(allu) - 1, max(0, -(-len(allu) * p // 100) - 1))] if allu else float("nan")
    print(f"\nmedian drain (first post → last first-reply): **{med(d):.2f} s** ({10000 / med(d) if d else float('nan'):.0f} msg/s); "
          f"urgent safety reply over all runs (n={len(allu)}): p50 **{pct(50):.1f} ms**, p99 **{pct(99):.1f} ms**, max {pct(100):.1f} ms\n")

if os.path.exists(P("classify.json")):
    cj = json.load(open(P("classify.json")))
    print("## Classification (Google Benchmark, pinned to CPU 1; eval.jsonl + extra.jsonl)\n")
    print("| benchmark | msgs/s (median) | µs/msg (CPU) |")
    print("|---|---:|---:|")
    for b in cj["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        ips = b.get("items_per_second")
        cpu = b["cpu_time"] / (1000 if b["time_unit"] == "ns" else 1)
        unit = "ms/iter" if b["time_unit"] == "ms" else ""
        print(f"| {b['run_name']} | {ips:,.0f} | {cpu:.2f} {unit} |" if ips else f"| {b['run_name']} | – | {b['cpu_time']:.1f} {b['time_unit']} |")
    if os.path.exists(P("classify_memory.txt")):
        m = open(P("classify_memory.txt")).read()
        mm = re.search(r"rss_before_load_kb=(\d+) rss_after_build_kb=(\d+) peak_rss_kb=(\d+)", m)
        if mm:
            a, b2, c = map(int, mm.groups())
            print(f"\nmemory: RSS {a/1024:.1f} MB before loading content, {b2/1024:.1f} MB after compiling the rules, peak {c/1024:.1f} MB\n")
if os.path.exists(P("compare_nlpjs.txt")):
    print("## rahnama vs NLP.js\n")
    print(open(P("compare_nlpjs.txt")).read())

if os.path.exists(P("scale.tsv")):
    rows = list(csv.DictReader(open(P("scale.tsv")), delimiter="\t"))
    print("## Stored-data scale: officer API on 100k contacts / 20k cases / 1M messages (admin, wrk 5 s)\n")
    print("| endpoint | conns | req/s | p50 ms | p99 ms (median of runs) | p99 range | non-2xx |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for ep in ("case_list", "case_list+rank_index", "case_view"):
        for c in ("1", "8"):
            rs = [r for r in rows if r["endpoint"] == ep and r["conns"] == c]
            if rs:
                p99 = [float(r["p99_ms"]) for r in rs]
                print(f"| {ep} | {c} | {med([float(r['req_s']) for r in rs]):,.0f} | {med([float(r['p50_ms']) for r in rs]):.2f} | "
                      f"**{med(p99):.2f}** | {rng(p99, '{:.2f}')} | {sum(int(r['non2xx']) for r in rs)} |")
    if os.path.exists(P("scale_counts.txt")):
        print("\n```\n" + open(P("scale_counts.txt")).read().strip() + "\n```\n")
