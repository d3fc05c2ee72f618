#!/usr/bin/env python3
"""What an analyst would write instead: the bench program (scripts/bench/program.toml) as DuckDB SQL.

usage: duck.py DATADIR OUTCSV [PAYMENTS]   (period 2026-10)
Computes each partner's earned total for: affiliate 10% commission, referral 500 flat per deal,
reseller/var marginal revenue tiers 5%/8%/12% at 0/50k/150k, SEC-EDR SPIF 250 per deal (Oct 1-15),
deal amounts converted to USD at the fx rate in force on closed_on.
With PAYMENTS (payments.sh's anchor): also what payline checks and pays of payments.csv — every
payment's deal_id is a deal of deals.csv (all rows, any date), payment_ids are unique, and the
`cash-commission` rule (2 % of October's payments × the row's share, agencies and distributors).
"""
import sys, duckdb

d, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"""
create temp table fx as select * from read_csv('{d}/fx.csv', header=true,
  columns={{'date':'DATE','currency':'VARCHAR','rate':'DECIMAL(18,6)'}});
create temp table p as select * from read_csv('{d}/partners.csv', header=true, all_varchar=true);
create temp table deals as
  select deal_id, partner_id, cast(closed_on as date) closed_on,
         cast(cast(amount as decimal(18,2)) * coalesce(cast(nullif(share,'') as decimal(9,6)), 1) as decimal(18,2)) amount,
         currency, product, status, cast(nullif(reversed_on,'') as date) reversed_on
  from read_csv('{d}/deals.csv', header=true, all_varchar=true)
  where cast(closed_on as date) between date '2026-10-01' and date '2026-10-31'
    and (status = 'won' or cast(nullif(reversed_on,'') as date) > date '2026-10-31');
create temp table conv as
  select deals.*, case when deals.currency = 'USD' then amount
                       else round(cast(amount as decimal(38,8)) * fx.rate, 2) end usd
  from deals asof left join fx on deals.currency = fx.currency and deals.closed_on >= fx.date;
create temp table lines as
  select c.partner_id, p.type, round(case when p.type='affiliate' then usd*0.10
                                          when p.type='referral' then 500 else 0 end, 2) amt
  from conv c join p using (partner_id)
  union all
  select c.partner_id, p.type, 250 from conv c join p using (partner_id)
  where c.product = 'SEC-EDR' and c.closed_on between date '2026-10-01' and date '2026-10-15'
  union all
  select partner_id, any_value(type),
    round(0.05*least(sum(usd),50000) + 0.08*greatest(least(sum(usd),150000)-50000,0)
          + 0.12*greatest(sum(usd)-150000,0), 2)
  from conv join p using (partner_id) where p.type in ('reseller','var') group by partner_id;
copy (select partner_id, sum(amt) earned from lines group by partner_id order by partner_id)
  to '{out}' (header, delimiter ',');
""")
if len(sys.argv) > 3:
    con.execute(f"""
    create temp table pay as select payment_id, deal_id, cast(paid_on as date) paid_on,
      cast(amount as decimal(18,2)) amount from read_csv('{sys.argv[3]}', header=true, all_varchar=true);
    create temp table rows as select deal_id, partner_id, currency,
      coalesce(cast(nullif(share,'') as decimal(9,6)), 1) share
      from read_csv('{d}/deals.csv', header=true, all_varchar=true);
    """)
    missing = con.execute("select count(*) from pay anti join rows using (deal_id)").fetchone()[0]
    repeated = con.execute("select count(*) - count(distinct payment_id) from pay").fetchone()[0]
    # Each payment on its own (no covered-total clamp, so overpayments count): rate × round(cash ×
    # share × the fx rate on paid_on).
    cash = con.execute("""with due as (
        select r.currency, pay.paid_on, cast(pay.amount * r.share as decimal(38,8)) credited
        from pay join rows r using (deal_id) join p using (partner_id)
        where p.type in ('agency', 'distributor')
          and pay.paid_on between date '2026-10-01' and date '2026-10-31')
      select count(*), sum(round(0.02 * round(case when due.currency = 'USD' then credited
                                                   else credited * fx.rate end, 2), 2))
      from due asof left join fx on due.currency = fx.currency and due.paid_on >= fx.date""").fetchone()
    print(f"payments: {missing} unknown deal_ids, {repeated} repeated payment_ids, cash lines {cash}")
print(con.execute(f"select count(*), sum(earned) from read_csv('{out}')").fetchone())
