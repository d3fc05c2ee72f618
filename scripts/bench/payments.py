#!/usr/bin/env python3
"""payments.csv for a gen.py deals.csv (SPEC §9.1): one payment per deal (the first row of each
deal_id), paid 0-45 days after the close, in full 80 % of the time, else in part; every 50th
deal also gets a refund of part of it a few days later.

usage: payments.py DEALS_CSV OUT_CSV [--seed N]
"""
import argparse, csv, datetime as dt, random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("deals"); ap.add_argument("out"); ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    seen = set()
    n = 0
    with open(a.deals, newline="") as f, open(a.out, "w", newline="") as o:
        w = csv.writer(o, lineterminator="\n")
        w.writerow(["payment_id", "deal_id", "paid_on", "amount"])
        for row in csv.DictReader(f):
            deal = row["deal_id"]
            if deal in seen:
                continue
            seen.add(deal)
            closed = dt.date.fromisoformat(row["closed_on"])
            cents = int(round(float(row["amount"]) * 100))
            if cents <= 0:
                continue
            paid = cents if rnd.random() < 0.8 else max(1, cents * rnd.randint(20, 90) // 100)
            on = closed + dt.timedelta(days=rnd.randint(0, 45))
            n += 1
            w.writerow([f"PAY-{n}", deal, on.isoformat(), f"{paid // 100}.{paid % 100:02d}"])
            if n % 50 == 0:
                n += 1
                back = max(1, paid // 4)
                w.writerow([f"PAY-{n}", deal, (on + dt.timedelta(days=3)).isoformat(),
                            f"-{back // 100}.{back % 100:02d}"])


if __name__ == "__main__":
    main()
