#!/usr/bin/env python3
"""Synthetic partner-program data in the payline input formats (docs/REFERENCE.md).

usage: gen.py OUTDIR PARTNERS DEALS [--seed N] [--months M] [--end 2026-10]
Deals are spread over the M months ending at --end (so the last month is the run period).
"""
import argparse, csv, os, random, datetime as dt

TYPES = [("referral", 30), ("affiliate", 35), ("reseller", 20), ("var", 8), ("agency", 5), ("distributor", 2)]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
PRODUCTS = ["CORE", "CORE-PLUS", "SEC-EDR", "SEC-SIEM", "DATA-LAKE", "SUPPORT"]
CUSTOMER = ["new", "expansion", "smb", "enterprise"]


def months_back(end, m):
    y, mo = end
    for _ in range(m - 1):
        mo -= 1
        if mo == 0:
            y, mo = y - 1, 12
    return y, mo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("partners", type=int); ap.add_argument("deals", type=int)
    ap.add_argument("--seed", type=int, default=7); ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--end", default="2026-10")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    ey, em = map(int, a.end.split("-"))
    sy, sm = months_back((ey, em), a.months)
    start = dt.date(sy, sm, 1)
    end = (dt.date(ey + (em == 12), em % 12 + 1, 1) - dt.timedelta(days=1))
    span = (end - start).days + 1
    tnames = [t for t, _ in TYPES]; tw = [w for _, w in TYPES]
    pids = []
    with open(os.path.join(a.out, "partners.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["partner_id", "name", "type", "region", "quota", "currency", "status", "kyc_verified", "joined_on"])
        for i in range(a.partners):
            pid = f"P{i:07d}"
            pids.append(pid)
            t = rnd.choices(tnames, tw)[0]
            quota = "" if t in ("referral", "affiliate") else f"{rnd.randrange(20, 400) * 1000}.00"
            cur = "USD" if rnd.random() < 0.8 else rnd.choice(["EUR", "GBP", "JPY"])
            status = "active" if rnd.random() < 0.98 else "suspended"
            kyc = "true" if rnd.random() < 0.97 else "false"
            joined = start - dt.timedelta(days=rnd.randrange(0, 900))
            w.writerow([pid, f"Partner {i}", t, rnd.choice(REGIONS), quota, cur, status, kyc, joined.isoformat()])
    # skewed partner activity: a few partners carry most deals
    weights = [1.0 / (1 + (i % 997)) ** 0.8 for i in range(a.partners)]
    cum = []
    s = 0.0
    for x in weights:
        s += x; cum.append(s)
    import bisect
    with open(os.path.join(a.out, "deals.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["deal_id", "partner_id", "closed_on", "amount", "currency", "share", "product", "customer_type", "source", "status", "reversed_on"])
        for d in range(a.deals):
            p = pids[bisect.bisect_left(cum, rnd.random() * s)]
            closed = start + dt.timedelta(days=rnd.randrange(span))
            amount = round(rnd.lognormvariate(8.5, 1.1), 2)
            cur = "USD" if rnd.random() < 0.9 else "EUR"
            status, rev = "won", ""
            r = rnd.random()
            if r < 0.02:
                status = "refunded"; rev = (closed + dt.timedelta(days=rnd.randrange(1, 120))).isoformat()
            elif r < 0.03:
                status = "cancelled"; rev = (closed + dt.timedelta(days=rnd.randrange(1, 60))).isoformat()
            w.writerow([f"D{d:09d}", p, closed.isoformat(), f"{amount:.2f}", cur, "", rnd.choice(PRODUCTS),
                        rnd.choice(CUSTOMER), "sourced" if rnd.random() < 0.8 else "influenced", status, rev])
    with open(os.path.join(a.out, "fx.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "currency", "rate"])
        d = start - dt.timedelta(days=1)
        while d <= end:
            w.writerow([d.isoformat(), "EUR", f"{1.08 + 0.02 * ((d.toordinal() % 30) / 30):.6f}"])
            w.writerow([d.isoformat(), "GBP", f"{1.27 + 0.02 * ((d.toordinal() % 17) / 17):.6f}"])
            w.writerow([d.isoformat(), "JPY", f"{0.0067 + 0.0002 * ((d.toordinal() % 11) / 11):.6f}"])
            d += dt.timedelta(days=7)


if __name__ == "__main__":
    main()
