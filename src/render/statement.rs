//! One partner's statement, from a verified batch: the page to send the partner (in the partner's
//! terms: its payout currency, rule labels, deal names, notes in words, each line's status as the
//! partner's) and the CSV statement for machines and spreadsheets (program currency, ids, notes as
//! written).

use super::batch::{Batch, LineDoc, PartnerDoc};
use super::index::group_title;
use super::page::{card, page};
use super::words::{Labels, display_money, partner_note};
use crate::model::money::{format_money, format_rate, minor_units};
use maud::{Markup, html};
use rust_decimal::Decimal;

/// `PROGRAM-PERIOD-PARTNER`: the statement's number, as the partner quotes it.
pub fn statement_number(batch: &Batch, partner: &PartnerDoc) -> String {
    format!("{}-{}-{}", batch.program_id, batch.period, partner.id)
}

/// One partner's lines grouped as the batch groups them: by rule, kind, and whether they are held
/// on `pending`, each group where its first line is.
pub struct Group<'a> {
    pub rule_id: &'a str,
    pub kind: &'a str,
    pub pending: bool,
    pub lines: Vec<&'a LineDoc>,
}

pub fn groups(partner: &PartnerDoc) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for line in &partner.lines {
        let pending = line.account == "pending";
        match groups
            .iter_mut()
            .find(|g| g.rule_id == line.rule_id && g.kind == line.kind && g.pending == pending)
        {
            Some(g) => g.lines.push(line),
            None => groups.push(Group {
                rule_id: &line.rule_id,
                kind: &line.kind,
                pending,
                lines: vec![line],
            }),
        }
    }
    groups
}

/// The CSV statement: `section, item, source_id, detail, amount` — who and when, every line by rule
/// with a subtotal per rule, the totals, the status in words, and the payout in its currency. Text
/// cells are spreadsheet-safe (SPEC §7); amounts are plain numbers in the program currency.
pub fn statement_csv(batch: &Batch, partner: &PartnerDoc) -> Vec<u8> {
    let units = batch.units;
    let money = |v: Decimal| format_money(v, units);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(4096));
    let mut row = |cells: [&str; 5]| {
        let [section, item, source_id, detail, amount] = cells;
        let safe = crate::output::spreadsheet_text;
        w.write_record([
            &*safe(section),
            &*safe(item),
            &*safe(source_id),
            &*safe(detail),
            amount,
        ])
        .expect("writing to memory cannot fail");
    };
    row(["section", "item", "source_id", "detail", "amount"]);
    let level = match partner.level.as_str() {
        "" => String::new(),
        l => format!(", level {l}"),
    };
    let who = format!("{} ({}{level})", partner.name, partner.partner_type);
    row(["partner", &partner.id, "", &who, ""]);
    let days = format!("{} to {}", batch.first_day, batch.last_day);
    row(["period", &batch.period, "", &days, ""]);
    let groups = groups(partner);
    for group in &groups {
        let item = match (group.rule_id.is_empty(), group.pending) {
            (true, false) => group.kind.to_string(),
            (true, true) => format!("{} (pending)", group.kind),
            (false, false) => format!("{} ({})", group.rule_id, group.kind),
            (false, true) => format!("{} ({}, pending)", group.rule_id, group.kind),
        };
        for l in &group.lines {
            row(["line", &item, &l.source_id, &l.note, &money(l.amount)]);
        }
        let count = format!("{} line(s)", group.lines.len());
        let subtotal: Decimal = group.lines.iter().map(|l| l.amount).sum();
        row(["subtotal", &item, "", &count, &money(subtotal)]);
    }
    for (name, value) in [
        ("earned", partner.earned),
        ("clawed_back", partner.clawed_back),
        ("carried_in", partner.carried_in),
        ("balance", partner.balance),
        ("paid", partner.paid),
        ("carried_out", partner.carried_out),
    ] {
        row(["total", name, "", "", &money(value)]);
    }
    // SPEC §8.2: the pending balance, when the partner has one or moved it this period.
    if groups.iter().any(|g| g.pending) || !partner.pending.is_zero() {
        row(["total", "pending", "", "", &money(partner.pending)]);
    }
    let due = match partner.due_on.as_str() {
        "" => String::new(),
        d => format!("; due {d}"),
    };
    let status = format!("{}{due}", partner.status_reason);
    row(["status", &partner.status, "", &status, ""]);
    if partner.payout_currency != batch.currency {
        let how = format!(
            "{} at {} {} per {}",
            money(partner.paid),
            format_rate(partner.fx_rate),
            batch.currency,
            partner.payout_currency
        );
        let paid = format_money(
            partner.paid_in_payout_currency,
            minor_units(&partner.payout_currency),
        );
        row(["payout", &partner.payout_currency, "", &how, &paid]);
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// Amounts as the partner reads them: in its payout currency, converted at the
/// payout's rate and rounded like the payout; in the program currency when the two are the same.
pub struct Shown<'a> {
    batch: &'a Batch,
    partner: &'a PartnerDoc,
    converted: bool,
    units: u32,
}

impl<'a> Shown<'a> {
    pub fn new(batch: &'a Batch, partner: &'a PartnerDoc) -> Shown<'a> {
        let converted = partner.payout_currency != batch.currency && !partner.fx_rate.is_zero();
        Shown {
            batch,
            partner,
            converted,
            units: minor_units(&partner.payout_currency),
        }
    }

    /// `3,370.36 EUR`.
    pub fn money(&self, value: Decimal) -> String {
        match value.checked_div(self.partner.fx_rate) {
            Some(v) if self.converted => format!(
                "{} {}",
                display_money(self.batch.rounding.round(v, self.units), self.units),
                self.partner.payout_currency
            ),
            _ => self.program_money(value),
        }
    }

    /// Amounts that add up on the page: converted, each is shown as the conversion of the running
    /// total up to it less that of the running total before it, so the amounts shown sum to their
    /// total's own conversion, and each is within one minor unit of its own. (Each converted on its
    /// own, ten lines of 0.95 EUR sat above a subtotal of 9.55 EUR.)
    pub fn money_adding_up(&self, values: &[Decimal]) -> Vec<String> {
        (self.running(values).into_iter())
            .map(|v| self.as_shown(v))
            .collect()
    }

    /// The amounts [`Shown::money_adding_up`] shows, as numbers (in the program currency when no
    /// conversion applies).
    pub fn running(&self, values: &[Decimal]) -> Vec<Decimal> {
        if !self.converted {
            return values.to_vec();
        }
        let convert = |total: Decimal| {
            let v = total.checked_div(self.partner.fx_rate).unwrap_or_default();
            self.batch.rounding.round(v, self.units)
        };
        let mut running = Decimal::ZERO;
        let mut shown_so_far = Decimal::ZERO;
        (values.iter())
            .map(|v| {
                running += *v;
                let shown = convert(running) - shown_so_far;
                shown_so_far += shown;
                shown
            })
            .collect()
    }

    /// An amount already as shown ([`Shown::running`]), with its currency.
    fn as_shown(&self, value: Decimal) -> String {
        match self.converted {
            true => format!(
                "{} {}",
                display_money(value, self.units),
                self.partner.payout_currency
            ),
            false => self.program_money(value),
        }
    }

    /// An amount in the program currency, as the batch holds it.
    pub fn program_money(&self, value: Decimal) -> String {
        format!(
            "{} {}",
            display_money(value, self.batch.units),
            self.batch.currency
        )
    }

    /// What the partner is paid: the payout as converted once, exactly as payouts.csv has it.
    pub fn paid(&self) -> String {
        if self.converted {
            format!(
                "{} {}",
                display_money(self.partner.paid_in_payout_currency, self.units),
                self.partner.payout_currency
            )
        } else {
            self.money(self.partner.paid)
        }
    }
}

fn status_words(status: &str) -> &'static str {
    match status {
        "paid" => "Paid",
        "held" => "Held",
        "negative" => "Negative balance",
        "below-minimum" => "Below the payout minimum",
        _ => "Status",
    }
}

/// Why a group's pending lines wait: their hold, a decision on them, or both.
fn pending_words(group: &Group) -> &'static str {
    let awaiting = |l: &&LineDoc| l.note.contains("awaiting approval");
    if group
        .lines
        .iter()
        .all(|l| l.note.contains(": declined on "))
    {
        return " (declined)";
    }
    match (
        group.lines.iter().any(awaiting),
        group.lines.iter().all(awaiting),
    ) {
        (true, true) => " (awaiting approval)",
        (true, false) => " (held for the refund window or awaiting approval)",
        _ => " (held for the refund window)",
    }
}

/// A line's status in the partner's terms: a line is paid only when the partner is.
fn line_status(line: &LineDoc, partner: &PartnerDoc) -> &'static str {
    match (line.kind.as_str(), line.account.as_str()) {
        ("cancel", _) => "cancelled",
        // A manual rule's line waits for its decision (SPEC §9.3), a held one for its hold (§8.2).
        (_, "pending") if line.note.contains("awaiting approval") => "pending (awaiting approval)",
        (_, "pending") => "pending (refund window)",
        ("clawback", _) => "clawed back",
        _ => match partner.status.as_str() {
            "paid" if partner.paid.is_zero() => "settled",
            "paid" => "paid",
            "held" => "held",
            "negative" => "set against your balance",
            _ => "carried forward",
        },
    }
}

/// The statement page to send the partner.
pub fn statement_html(batch: &Batch, partner: &PartnerDoc) -> String {
    let shown = Shown::new(batch, partner);
    let number = statement_number(batch, partner);
    let level = match partner.level.as_str() {
        "" => String::new(),
        l => format!(" · level {l}"),
    };
    let body = html! {
        header {
            div {
                h1 { (batch.program_name) }
                div.muted { "Partner statement · " (batch.period) }
                div { strong { (partner.name) } " (" (partner.partner_type) ")" }
                div.muted { "Partner " (partner.id) " · " (partner.partner_type) (level) }
            }
            div.meta {
                div { "Statement " strong { (number) } }
                div { "Period " (batch.first_day) " to " (batch.last_day) }
                div { "Statement date " (batch.last_day) }
                div { "Amounts in " (partner.payout_currency) }
            }
        }
        (payout_section(batch, partner, &shown))
        h2 { "What you earned" }
        (lines_section(batch, partner, &shown))
        (funds_section(batch, partner, &shown))
        // Earlier periods were paid at their own rates: the year to date stays in the program currency.
        h2 { "Year to date (" (partner.year) ")" @if shown.converted { ", in " (batch.currency) } }
        table { tbody {
            tr { td { "Earned, net of clawbacks" } td.num { (shown.program_money(partner.earned_before + partner.earned + partner.clawed_back)) } }
            tr { td { "Paid" } td.num { (shown.program_money(partner.paid_before + partner.paid)) } }
        } }
        (next_steps(batch, partner, &shown))
        footer {
            "Statement " (number) " of " (batch.program_name) " (" (batch.program_id) "), period "
            (batch.first_day) " to " (batch.last_day) ". Amounts in " (partner.payout_currency)
            " unless stated. Questions: quote the statement number."
        }
    };
    page(&format!("{} statement {number}", batch.program_name), body)
}

fn payout_section(batch: &Batch, partner: &PartnerDoc, shown: &Shown) -> Markup {
    let not_paid = match partner.status.as_str() {
        "held" if partner.balance < Decimal::ZERO => Some(
            "Nothing is paid while your account is held; what you owe is carried to the next period.",
        ),
        "held" => Some("Nothing is paid while your account is held; the balance is kept for you."),
        "negative" => Some(
            "Your balance is negative: nothing is paid, and later earnings first make up the difference.",
        ),
        "below-minimum" => Some(
            "Your balance is below the payout minimum: it is carried to the next period and paid once it reaches it.",
        ),
        _ => None,
    };
    let settled = partner.status == "paid" && partner.paid.is_zero();
    let payout_date = match partner.due_on.as_str() {
        _ if settled => "Nothing to pay".to_string(),
        "" => "Not paid".to_string(),
        d => d.to_string(),
    };
    // Earned + clawed back + carried in = the balance, on the page as in the batch.
    let [earned, clawed_back, carried_in] = <[String; 3]>::try_from(shown.money_adding_up(&[
        partner.earned,
        partner.clawed_back,
        partner.carried_in,
    ]))
    .expect("three amounts in, three out");
    let mut cards = vec![
        ("Earned this period", earned),
        ("Clawed back", clawed_back),
        ("Carried in", carried_in),
        ("Balance", shown.money(partner.balance)),
        ("Paid", shown.paid()),
        ("Payout date", payout_date),
        ("Carried to next period", shown.money(partner.carried_out)),
    ];
    if !partner.pending.is_zero() {
        cards.push(("Pending (not payable yet)", shown.money(partner.pending)));
    }
    html! {
        h2 { "Your payout" }
        p {
            span class=(format!("status {}", partner.status)) { (if settled { "Settled" } else { status_words(&partner.status) }) }
            " " span.note {
                @if settled {
                    "Your balance is 0: nothing to pay this period."
                } @else if partner.status == "paid" {
                    (shown.paid()) " paid on " (partner.due_on)
                } @else {
                    // The engine's reason starts with the status the pill already shows.
                    (super::words::sentence(partner.status_reason.strip_prefix(&format!("{}: ", partner.status)).unwrap_or(&partner.status_reason)))
                    @if shown.converted { " (amounts in " (batch.currency) ")" }
                }
            }
        }
        @if let Some(words) = not_paid {
            div class=(format!("callout {}", partner.status)) { (words) }
        }
        div.cards { @for (label, value) in &cards { (card(label, value)) } }
        @if shown.converted {
            p.note {
                "Amounts are in " (partner.payout_currency) ", converted from " (batch.currency)
                " at " (format_rate(partner.fx_rate)) " " (batch.currency) " per " (partner.payout_currency)
                ", the rate in force on " (batch.last_day) "; the lines add up to their subtotals, the subtotals of the lines earned or clawed back this period to Earned and Clawed back together, those of pending lines to Pending, and Earned, Clawed back and Carried in to the Balance (each amount within one minor unit of its own conversion). Amounts carried in from earlier periods are owed in " (batch.currency) " and converted at this period's rate, so they may differ from an earlier statement's " (partner.payout_currency) " figure. "
                @if partner.paid.is_zero() {
                    "Nothing is paid this period. "
                } @else {
                    "The payout is your balance of " (display_money(partner.paid, batch.units)) " " (batch.currency)
                    " converted once: " (shown.paid()) ". "
                }
                "The rules' terms and the calculations below are in "
                (batch.currency) ", the program's currency; each deal shows its own amount and currency."
            }
        }
    }
}

fn lines_section(batch: &Batch, partner: &PartnerDoc, shown: &Shown) -> Markup {
    let labels: Vec<(String, String)> = batch
        .rules
        .iter()
        .map(|r| (r.id.clone(), r.label.clone()))
        .collect();
    let labels = Labels { rules: &labels };
    let groups: Vec<Group> = groups(partner)
        .into_iter()
        .map(|mut g| {
            // A release moves money from pending to payable: the partner sees it once, as released.
            g.lines
                .retain(|l| !(l.kind == "release" && l.account == "pending"));
            g
        })
        .filter(|g| !g.lines.is_empty())
        .collect();
    // Two running totals in page order, one over the lines that count in Earned and Clawed back and
    // one over the pending lines: each group's lines add up to its subtotal, the payable subtotals
    // to the cards' Earned + Clawed back and the pending ones to Pending. (One total over both made
    // 149 + 159 + 389 JPY of payable lines under an Earned of 699 when pending lines sat between.)
    let pending = |l: &LineDoc| l.account == "pending";
    let running_of = |which: bool| {
        let amounts: Vec<Decimal> = (groups.iter().flat_map(|g| &g.lines))
            .filter(|l| pending(l) == which)
            .map(|l| l.amount)
            .collect();
        shown.running(&amounts).into_iter()
    };
    let (mut payable_shown, mut pending_shown) = (running_of(false), running_of(true));
    let per_group: Vec<Vec<Decimal>> = (groups.iter())
        .map(|g| {
            (g.lines.iter())
                .filter_map(|l| match pending(l) {
                    true => pending_shown.next(),
                    false => payable_shown.next(),
                })
                .collect()
        })
        .collect();
    html! {
        @if groups.is_empty() { p.muted { "No new lines this period." } }
        @for (group, amounts) in groups.iter().zip(&per_group) {
            @let rule = batch.rule(group.rule_id).filter(|_| !matches!(group.kind, "clawback" | "release" | "cancel" | "true-up"));
            h3 { (group_title(&batch.label(group.rule_id), group.kind)) @if group.pending { (pending_words(group)) } }
            @if let Some(rule) = rule { p.terms { (super::words::sentence(&rule.terms)) } }
            @let deals = group.lines.iter().any(|l| l.source == "deal");
            table class=(if deals { "lines" } else { "period-lines" }) {
                thead { tr {
                    @if deals { th { "Date" } }
                    th { "Reference" }
                    @if deals { th { "Customer" } th.num { "Deal amount" } }
                    th { "How it was calculated" } th { "Status" } th.num { "Amount" }
                } }
                tbody {
                    @for (line, amount) in group.lines.iter().zip(amounts) { (line_row(line, partner, &shown.as_shown(*amount), &labels, deals)) }
                    tr.subtotal {
                        td colspan=(if deals { "6" } else { "3" }) { "Subtotal, " (group.lines.len()) " line(s)" }
                        td.num { (shown.as_shown(amounts.iter().sum())) }
                    }
                }
            }
        }
    }
}

/// One line's row; `amount` is its amount as shown (`Shown::running`).
fn line_row(
    line: &LineDoc,
    partner: &PartnerDoc,
    amount: &str,
    labels: &Labels,
    deals: bool,
) -> Markup {
    let deal = (line.source == "deal")
        .then(|| partner.deals.get(&line.source_id))
        .flatten();
    let named = deal
        .filter(|d| !d.deal_name.is_empty())
        .map(|d| (line.source_id.as_str(), d.deal_name.as_str()));
    let note = partner_note(&line.note, &line.kind, labels, named);
    // A deal is shown by its name when deals.csv gives one (its id stays in the CSV statement).
    let reference = match (line.source.as_str(), named) {
        ("period" | "payout", _) => String::new(),
        (_, Some((_, name))) => name.to_string(),
        _ => line.source_id.clone(),
    };
    html! {
        tr {
            @if deals { td { @if let Some(d) = deal { (d.closed_on) } } }
            td title=(line.source_id) { (reference) }
            @if deals {
                td { @if let Some(d) = deal { (d.customer_type) } }
                td.num { @if let Some(d) = deal { (display_money(d.amount, minor_units(&d.currency))) " " (d.currency) } }
            }
            td { (note) }
            td { (line_status(line, partner)) }
            td.num { (amount) }
        }
    }
}

/// The partner's MDF and co-op funds: what came in this period, what its claims drew, what is left.
fn funds_section(batch: &Batch, partner: &PartnerDoc, shown: &Shown) -> Markup {
    let mut funds: Vec<&str> = partner.funds.iter().map(|(f, _)| f.as_str()).collect();
    for line in &partner.fund_lines {
        if !funds.contains(&line.rule_id.as_str()) {
            funds.push(&line.rule_id);
        }
    }
    if funds.is_empty() {
        return html! {};
    }
    let sum = |fund: &str, drawn: bool| -> Decimal {
        partner
            .fund_lines
            .iter()
            .filter(|l| l.rule_id == fund && (l.source == "claim") == drawn)
            .map(|l| l.amount)
            .sum()
    };
    html! {
        h2 { "Your funds" }
        table {
            thead { tr { th { "Fund" } th.num { "From earlier periods" } th.num { "Added this period" } th.num { "Claims reimbursed" } th.num { "Remaining" } } }
            tbody {
                @for fund in &funds {
                    @let left = partner.funds.iter().find(|(f, _)| f == fund).map_or(Decimal::ZERO, |(_, b)| *b);
                    @let (added, claimed) = (sum(fund, false), sum(fund, true));
                    // Earlier + added − claims = remaining, converted as one running total.
                    @let [earlier, added, claimed] = <[Decimal; 3]>::try_from(shown.running(&[left - added - claimed, added, claimed])).expect("three amounts in, three out");
                    tr {
                        td { (batch.label(fund)) }
                        td.num { (shown.as_shown(earlier)) }
                        td.num { (shown.as_shown(added)) }
                        td.num { (shown.as_shown(-claimed)) }
                        td.num { (shown.money(left)) }
                    }
                }
            }
        }
    }
}

/// The next thresholds within reach (nudges.csv), as the next period's opportunity: the period of a
/// statement is closed.
fn next_steps(batch: &Batch, partner: &PartnerDoc, shown: &Shown) -> Markup {
    if partner.nudges.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Your next step" }
        ul {
            @for n in &partner.nudges {
                li {
                    (batch.label(&n.rule_id)) ": in " (batch.period) " you reached "
                    (super::words::number(&n.current)) " of the " (super::words::number(&n.next_threshold))
                    " that earns the next step (" (super::words::number(&n.gap)) " short). Reaching it in a period pays "
                    (shown.money(n.gain)) " more."
                }
            }
        }
    }
}
