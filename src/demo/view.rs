//! The demo's terminal view (ratatui) and its plain-text summary for non-terminals.

use nexus_model::records::{OrderAction, Severity, SnapshotStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::state::DemoState;

/// Figures that are not part of the output state.
pub struct Rates {
    /// Messages fed so far.
    pub events: u64,
    /// Messages per second over the last interval.
    pub events_per_second: f64,
    /// Simulated seconds since the start.
    pub simulated_seconds: f64,
}

/// Draws one frame.
pub fn draw(frame: &mut Frame, state: &DemoState, rates: &Rates) {
    let open = state.open_arbitrages();
    let [header, top, gate, alerts, snapshots, discrepancies, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length((state.ranked.len().min(10).max(state.var.len()) as u16 + 3).max(4)),
        Constraint::Length((open.len().max(state.orders.len()).min(GATE_ROWS) as u16 + 3).max(4)),
        Constraint::Length((state.alerts.len().min(ALERT_ROWS) as u16 + 3).max(4)),
        Constraint::Min(8),
        Constraint::Length((state.discrepancies.len() as u16 + 3).clamp(4, 12)),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [ranked, risk] = Layout::horizontal([Constraint::Length(66), Constraint::Min(40)]).areas(top);

    let (p50, p99, max) = state.latency_ms();
    let summary = format!(
        "simulated {:>7.0} s   events {:>9}  ({:>7.0}/s)   latency p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms   updates {}   rejected {}",
        rates.simulated_seconds, rates.events, rates.events_per_second, p50, p99, max, state.updates, state.rejected
    );
    frame.render_widget(
        Paragraph::new(summary)
            .block(Block::default().borders(Borders::ALL).title(" nexus demo: reconciled funding rates ")),
        header,
    );

    let rows = state.ranked.values().take(10).map(|r| {
        Row::new(vec![
            r.rank.to_string(),
            r.symbol.to_string(),
            r.long_venue.name().to_string(),
            r.short_venue.name().to_string(),
            r.uos.to_string(),
            format!("{:.2}%", r.net_apr.to_f64() * 100.0),
        ])
    });
    let widths = [6, 10, 12, 12, 10, 12].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(
            Row::new(["rank", "asset", "long", "short", "uos", "net apr"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::default().borders(Borders::ALL).title(format!(
            " top opportunities ({} open, showing {}) ",
            state.opportunities,
            state.ranked.len().min(10)
        )));
    frame.render_widget(table, ranked);

    let rows = state.var.values().map(|v| {
        Row::new(vec![
            v.account.to_string(),
            v.returns.to_string(),
            money(v.exposure_net.to_f64()),
            money(v.exposure_gross.to_f64()),
            money(v.var_hist_95.to_f64()),
            money(v.es_hist_95.to_f64()),
            money(v.var_hist_99.to_f64()),
            money(v.var_param_99.0),
        ])
    });
    let widths = [8, 4, 11, 11, 10, 10, 10, 10].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(
            Row::new(["account", "N", "net", "gross", "VaR 95", "ES 95", "VaR 99", "param 99"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default().borders(Borders::ALL).title(" value-at-risk per account (historical; parametric 99%) "),
        );
    frame.render_widget(table, risk);

    let [arbitrages, orders] = Layout::horizontal([Constraint::Length(66), Constraint::Min(40)]).areas(gate);
    let rows = open.iter().take(GATE_ROWS).map(|d| {
        Row::new(vec![d.symbol.to_string(), d.long_venue.name().to_string(), d.short_venue.name().to_string()])
    });
    let table = Table::new(rows, [10, 12, 12].map(Constraint::Length))
        .header(Row::new(["asset", "long", "short"]).style(Style::default().add_modifier(Modifier::BOLD)))
        .block(Block::default().borders(Borders::ALL).title(format!(
            " open arbitrages ({})   P&L {}   fills {}   refused {} ",
            open.len(),
            state.pnl.map(|p| money(p.to_f64())).unwrap_or_else(|| "-".to_string()),
            state.fills,
            state.refused
        )));
    frame.render_widget(table, arbitrages);
    let rows = state.orders.iter().rev().take(GATE_ROWS).map(|(time, o)| {
        Row::new(vec![
            clock(*time),
            o.action.name().to_string(),
            o.symbol.to_string(),
            o.venue.name().to_string(),
            o.side.name().to_string(),
            o.qty.to_string(),
        ])
    });
    let table = Table::new(rows, [10, 8, 8, 12, 6, 14].map(Constraint::Length))
        .header(
            Row::new(["time", "action", "asset", "venue", "side", "qty"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default().borders(Borders::ALL).title(format!(" orders ({}), latest first ", orders_line(state))),
        );
    frame.render_widget(table, orders);

    let rows = state.snapshots.values().map(|s| {
        let color = match s.status {
            SnapshotStatus::Ok => Color::Green,
            SnapshotStatus::Discrepancy => Color::Red,
            SnapshotStatus::SingleSource => Color::Yellow,
            SnapshotStatus::Stale => Color::DarkGray,
        };
        Row::new(vec![
            s.symbol.to_string(),
            s.venue.name().to_string(),
            s.rate.to_string(),
            s.interval_h.to_string(),
            format!("{:.2}%", s.apr.to_f64() * 100.0),
            format!("{:?}", s.status).to_lowercase(),
            s.source.name().to_string(),
            s.mark_price.map(|p| p.to_string()).unwrap_or_default(),
        ])
        .style(Style::default().fg(color))
    });
    let widths = [10, 12, 14, 6, 10, 14, 9, 12].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(
            Row::new(["asset", "venue", "rate", "int h", "apr", "status", "source", "mark"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::default().borders(Borders::ALL).title(format!(" snapshots ({}) ", state.snapshots.len())));
    frame.render_widget(table, snapshots);

    let rows = state.latest_alerts(ALERT_ROWS).into_iter().map(|a| {
        let style = match a.severity {
            Severity::Critical => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::High => Style::default().fg(Color::Yellow),
            Severity::Medium | Severity::Low => Style::default(),
        };
        Row::new(vec![
            clock(a.last_us),
            a.pattern.name().to_string(),
            a.severity.name().to_string(),
            a.venue.name().to_string(),
            a.symbol.to_string(),
            a.account.to_string(),
            a.evidence.iter().take(4).map(|e| e.as_str()).collect::<Vec<_>>().join(" "),
        ])
        .style(style)
    });
    let widths = [10, 22, 9, 12, 6, 12, 40].map(Constraint::Length);
    let critical = state.alerts.values().filter(|a| a.severity == Severity::Critical).count();
    let table = Table::new(rows, widths)
        .header(
            Row::new(["time", "pattern", "severity", "venue", "asset", "account", "evidence"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" surveillance alerts ({}, {critical} critical), latest first ", state.alerts.len())),
        );
    frame.render_widget(table, alerts);

    let rows = state.discrepancies.values().map(|d| {
        Row::new(vec![
            d.symbol.to_string(),
            d.venue.name().to_string(),
            d.exchange_rate.to_string(),
            d.scanner_rate.to_string(),
            d.abs_diff.to_string(),
        ])
    });
    let widths = [10, 12, 14, 14, 14].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(
            Row::new(["asset", "venue", "exchange", "scanner", "abs diff"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default().borders(Borders::ALL).title(format!(" discrepancies ({}) ", state.discrepancies.len())),
        );
    frame.render_widget(table, discrepancies);

    frame.render_widget(
        Line::from(" q or Ctrl-C quits; outputs are written as JSON lines under the output directory"),
        footer,
    );
}

/// Rows of the alerts table.
const ALERT_ROWS: usize = 6;

/// Rows of the open-arbitrages and orders tables.
const GATE_ROWS: usize = 8;

/// Orders sent per action: `12 open, 4 close, 1 unwind`.
fn orders_line(state: &DemoState) -> String {
    let sent = |action| state.orders_sent.get(&action).copied().unwrap_or(0);
    format!(
        "{} open, {} close, {} unwind",
        sent(OrderAction::Open),
        sent(OrderAction::Close),
        sent(OrderAction::Unwind)
    )
}

/// A logical time as UTC `hh:mm:ss`.
fn clock(us: u64) -> String {
    let seconds = us / 1_000_000;
    format!("{:02}:{:02}:{:02}", seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
}

/// A money figure with thousands separators and no decimals.
fn money(value: f64) -> String {
    let whole = value.round() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if whole < 0 { format!("-{grouped}") } else { grouped }
}

/// One line for logs and non-terminal output.
pub fn summary_line(state: &DemoState, rates: &Rates) -> String {
    let (p50, p99, max) = state.latency_ms();
    let count = |status: SnapshotStatus| state.snapshots.values().filter(|s| s.status == status).count();
    format!(
        "simulated {:.0} s | events {} ({:.0}/s) | snapshots {} (ok {}, discrepancy {}, single_source {}, stale {}) | discrepancies {} | opportunities {}{} | VaR 99{} | arbitrages {} open, orders {}, fills {}, P&L {} | alerts {} ({} critical) | rejected {} | latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        rates.simulated_seconds,
        rates.events,
        rates.events_per_second,
        state.snapshots.len(),
        count(SnapshotStatus::Ok),
        count(SnapshotStatus::Discrepancy),
        count(SnapshotStatus::SingleSource),
        count(SnapshotStatus::Stale),
        state.discrepancies.len(),
        state.opportunities,
        state
            .ranked
            .get(&1)
            .map(|r| format!(" (best {} {}/{} uos {})", r.symbol, r.long_venue, r.short_venue, r.uos))
            .unwrap_or_default(),
        if state.var.is_empty() {
            " (warming up)".to_string()
        } else {
            state.var.values().map(|v| format!(" {} {}", v.account, money(v.var_hist_99.to_f64()))).collect::<String>()
        },
        state.open_arbitrages().len(),
        orders_line(state),
        state.fills,
        state.pnl.map(|p| money(p.to_f64())).unwrap_or_else(|| "-".to_string()),
        state.alerts.len(),
        state.alerts.values().filter(|a| a.severity == Severity::Critical).count(),
        state.rejected,
        p50,
        p99,
        max
    )
}

#[cfg(test)]
mod tests {
    use nexus_model::records::{Alert, AlertDetails, Pattern, VarFigures};
    use nexus_model::{Asset, Dec, Float, Venue};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    fn figures(account: &str, var_99: &str) -> VarFigures {
        let dec = |text: &str| Dec::parse(text).unwrap_or(Dec::ZERO);
        VarFigures {
            account: account.into(),
            returns: 240,
            exposure_net: dec("55468.75"),
            exposure_gross: dec("94531.25"),
            var_hist_95: dec("19882.8125"),
            es_hist_95: dec("20175.78125"),
            var_hist_99: dec(var_99),
            es_hist_99: dec(var_99),
            var_param_95: Float(19402.9),
            var_param_99: Float(27441.9),
        }
    }

    #[test]
    fn the_view_shows_var_per_account_next_to_the_opportunities() {
        let mut state = DemoState::default();
        state.var.insert("desk-a".into(), figures("desk-a", "20468.75"));
        state.var.insert("desk-b".into(), figures("desk-b", "1389.03"));
        let rates = Rates { events: 10, events_per_second: 5.0, simulated_seconds: 2.0 };
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("test terminal");
        terminal.draw(|frame| draw(frame, &state, &rates)).expect("draws");
        let screen: String = terminal.backend().buffer().content().iter().map(|cell| cell.symbol()).collect();
        assert!(screen.contains("top opportunities"));
        assert!(screen.contains("value-at-risk per account"));
        assert!(screen.contains("desk-a") && screen.contains("20,469") && screen.contains("94,531"));
        assert!(screen.contains("desk-b") && screen.contains("1,389"));
        let line = summary_line(&state, &rates);
        assert!(line.contains("VaR 99 desk-a 20,469 desk-b 1,389"), "{line}");
    }

    #[test]
    fn the_view_shows_alerts_as_they_fire() {
        let mut state = DemoState::default();
        let alert = |id: &str, pattern: Pattern, severity: Severity, last_us: u64| Alert {
            alert_id: id.into(),
            pattern,
            severity,
            venue: Venue::Bybit,
            account: "spoof-5".into(),
            symbol: Asset::from_venue_symbol("ETH").unwrap_or_else(|e| panic!("{e}")),
            first_us: last_us - 2_000_000,
            last_us,
            evidence: vec!["o17".into(), "o18".into()],
            details: AlertDetails::RepeatedManipulation { alerts: 3, window_ms: 3_600_000 },
        };
        state.alerts.insert("a".into(), alert("a", Pattern::Spoofing, Severity::High, 1_763_596_862_000_000));
        state
            .alerts
            .insert("b".into(), alert("b", Pattern::RepeatedManipulation, Severity::Critical, 1_763_596_900_000_000));
        let rates = Rates { events: 10, events_per_second: 5.0, simulated_seconds: 2.0 };
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("test terminal");
        terminal.draw(|frame| draw(frame, &state, &rates)).expect("draws");
        let screen: String = terminal.backend().buffer().content().iter().map(|cell| cell.symbol()).collect();
        assert!(screen.contains("surveillance alerts (2, 1 critical)"), "{screen}");
        assert!(screen.contains("00:01:02") && screen.contains("spoofing") && screen.contains("o17 o18"));
        let latest = screen.find("repeated_manipulation").unwrap_or(usize::MAX);
        assert!(latest < screen.find("spoofing").unwrap_or(0), "latest first");
        assert!(summary_line(&state, &rates).contains("alerts 2 (1 critical)"));
    }

    #[test]
    fn the_view_shows_open_arbitrages_orders_and_pnl() {
        use nexus_model::market::Side;
        use nexus_model::records::{ArbId, Decision, OrderIntent, OrderType};
        let mut state = DemoState::default();
        let btc = Asset::from_venue_symbol("BTC").unwrap_or_else(|e| panic!("{e}"));
        let arb = ArbId { symbol: btc.clone(), long_venue: Venue::Okx, short_venue: Venue::Hyperliquid };
        state.decisions.insert(
            arb.to_string(),
            Decision {
                arb_id: arb.to_string(),
                symbol: btc.clone(),
                long_venue: Venue::Okx,
                short_venue: Venue::Hyperliquid,
                accepted: true,
                reasons: Vec::new(),
            },
        );
        let order = OrderIntent {
            client_order_id: "nx1".into(),
            arb_id: arb.to_string(),
            action: OrderAction::Open,
            account: "main".into(),
            venue: Venue::Okx,
            symbol: btc,
            side: Side::Buy,
            qty: Dec::parse("0.3333").unwrap_or(Dec::ZERO),
            order_type: OrderType::Market,
            reduce_only: false,
        };
        state.orders.push_back((1_763_596_862_000_000, order));
        state.orders_sent.insert(OrderAction::Open, 2);
        state.paper(Dec::parse("-1234.5").unwrap_or(Dec::ZERO), 2, 1);
        let rates = Rates { events: 10, events_per_second: 5.0, simulated_seconds: 2.0 };
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test terminal");
        terminal.draw(|frame| draw(frame, &state, &rates)).expect("draws");
        let screen: String = terminal.backend().buffer().content().iter().map(|cell| cell.symbol()).collect();
        assert!(screen.contains("open arbitrages (1)   P&L -1,235   fills 2   refused 1"), "{screen}");
        assert!(screen.contains("orders (2 open, 0 close, 0 unwind)") && screen.contains("0.3333"));
        let line = summary_line(&state, &rates);
        assert!(line.contains("arbitrages 1 open, orders 2 open, 0 close, 0 unwind, fills 2, P&L -1,235"), "{line}");
    }

    #[test]
    fn money_groups_thousands_and_keeps_the_sign() {
        assert_eq!(money(1234567.4), "1,234,567");
        assert_eq!(money(-1000.0), "-1,000");
        assert_eq!(money(999.5), "1,000");
        assert_eq!(money(0.0), "0");
    }
}
