#!/usr/bin/env python3
"""What an analyst would write instead: the bench program (scripts/bench/program.toml) as DuckDB SQL.

usage: duck.py DATADIR OUTCSV   (period 2026-10)
Computes each partner's earned total for: affiliate 10% commission, referral 500 flat per deal,
reseller/var marginal revenue tiers 5%/8%/12% at 0/50k/150k, SEC-EDR SPIF 250 per deal (Oct 1-15),
deal amounts converted to USD at the fx rate in force on closed_on.
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
print(con.execute(f"select count(*), sum(earned) from read_csv('{out}')").fetchone())
