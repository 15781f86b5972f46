//! The critical escalation: repeated manipulation by one account on one venue.

use compact_str::CompactString;
use nexus_model::records::{Alert, AlertDetails, Pattern, Severity};

use super::params::SurveillanceParams;
use crate::Time;

/// Escalations among the alerts of one (venue, account), sorted by `(first_us, alert_id)`: one per
/// alert that brings the number of alerts whose `first_us` lies within the critical window ending
/// at its own to exactly `critical_count`. Each comes with its settle time: when every alert that
/// could still join its window has settled.
pub fn escalations(alerts: &[&Alert], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let needed = p.critical_count as usize;
    let mut found = Vec::new();
    let mut start = 0;
    for (i, alert) in alerts.iter().enumerate() {
        let from = alert.first_us.saturating_sub(p.critical_window_us);
        while alerts[start].first_us < from {
            start += 1;
        }
        let counted = &alerts[start..=i];
        if counted.len() != needed {
            continue;
        }
        let evidence: Vec<CompactString> = counted.iter().map(|a| a.alert_id.clone()).collect();
        let escalation = Alert {
            alert_id: Alert::id_of(
                Pattern::RepeatedManipulation,
                alert.venue,
                &alert.account,
                &alert.symbol,
                &alert.alert_id,
            ),
            pattern: Pattern::RepeatedManipulation,
            severity: Severity::Critical,
            venue: alert.venue,
            account: alert.account.clone(),
            symbol: alert.symbol.clone(),
            first_us: counted.iter().map(|a| a.first_us).min().unwrap_or(alert.first_us),
            last_us: counted.iter().map(|a| a.last_us).max().unwrap_or(alert.last_us),
            evidence,
            details: AlertDetails::RepeatedManipulation {
                alerts: counted.len() as u64,
                window_ms: p.critical_window_us / 1_000,
            },
        };
        found.push((escalation, alert.first_us.saturating_add(p.settle_span()).saturating_add(1)));
    }
    found
}
