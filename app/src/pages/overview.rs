//! `/uniform`, the page after login: whether notifications are flowing, at a glance. Tiles
//! (events and deliveries in the last 24 h, success rate, deliveries waiting or retrying,
//! oldest waiting, unread error events), a chart of deliveries per 15 minutes (an SVG drawn
//! by the server, so it is there before the wasm loads), and a row per webhook subscription
//! with its success rate, p50/p95 duration and last error. Refreshes itself while open.

use leptos::prelude::*;

use crate::components::field::{PageHeader, Section};
use crate::components::live::poll;
use crate::components::loaded::Loaded;
use crate::components::table::{Column::Shown, Table};
use crate::format::{display_time, subscription_label, NONE};
use crate::model::{Stats, StatsBucket, SubscriptionStats};
use crate::paths::{
    delivery_path, edit_subscription_path, subscription_deliveries_path, INTEGRATIONS_PATH,
};
use crate::server_fns::insight::overview_stats;

/// A share as `97.5 %` (one decimal), `—` when there is none.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| NONE.to_string(), |rate| format!("{:.1} %", rate * 100.0))
}

/// A duration in seconds in the largest whole unit: `45 s`, `12 min`, `3 h`, `2 d`.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}

/// `12 ms`, `—` when there is none.
fn millis(value: Option<i64>) -> String {
    value.map_or_else(|| NONE.to_string(), |ms| format!("{ms} ms"))
}

/// The Overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let figures = Resource::new(move || tick.get(), |_| overview_stats());
    poll(move || {
        tick.try_update(|n| *n += 1);
    });
    view! {
        <PageHeader
            title="Overview"
            lead="Whether notifications are flowing: the last 24 hours, and the queue as it is now. The page updates itself while it is open."
        />
        <Loaded resource=figures loading="Loading the figures…" let:stats>
            <Figures stats />
        </Loaded>
    }
}

/// Tiles, chart and the subscriptions' table.
#[component]
fn Figures(stats: Stats) -> impl IntoView {
    let Stats {
        events,
        deliveries,
        success_rate,
        waiting,
        retrying,
        oldest_pending_seconds,
        unread_errors,
        buckets,
        subscriptions,
        generated_at,
        ..
    } = stats;
    let tiles: [(&str, String, Option<String>); 6] = [
        ("Events (24 h)", events.to_string(), None),
        ("Deliveries (24 h)", deliveries.to_string(), None),
        ("Success rate (24 h)", percent(success_rate), None),
        (
            "Waiting or retrying",
            (waiting + retrying).to_string(),
            Some(format!("{waiting} waiting, {retrying} retrying")),
        ),
        (
            "Oldest waiting",
            oldest_pending_seconds.map_or_else(|| NONE.to_string(), age),
            None,
        ),
        ("Unread error events", unread_errors.to_string(), None),
    ];
    view! {
        <ul class="stat-tiles" aria-label="Figures">
            {tiles
                .into_iter()
                .map(|(label, value, detail)| {
                    let link = (label == "Unread error events" && unread_errors > 0)
                        .then(|| view! { <a href=INTEGRATIONS_PATH>"See the integrations"</a> });
                    view! {
                        <li class="stat-tile">
                            <span class="stat-label">{label}</span>
                            <span class="stat-value">{value}</span>
                            {detail.map(|text| view! { <span class="stat-detail">{text}</span> })}
                            {link}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <Section id="chart-heading" title="Deliveries per 15 minutes">
            <DeliveryChart buckets />
        </Section>
        <Section id="subscriptions-heading" title="Subscriptions">
            <SubscriptionTable rows=subscriptions />
        </Section>
        <p class="hint">"As of " {display_time(&generated_at)} " UTC."</p>
    }
}

/// Width of one slot's bar in the chart's coordinates.
const BAR: f64 = 10.0;
/// Room left of the bars for the scale.
const LEFT: f64 = 44.0;
/// Height of the bars' area.
const PLOT: f64 = 160.0;
/// Top margin.
const TOP: f64 = 10.0;

/// Stacked bars per 15 minutes: delivered, waiting or retrying, failed.
#[component]
pub fn DeliveryChart(buckets: Vec<StatsBucket>) -> impl IntoView {
    let highest = buckets
        .iter()
        .map(|b| b.delivered + b.retrying + b.failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = PLOT / highest as f64;
    let width = LEFT + BAR * buckets.len() as f64 + 4.0;
    let base = TOP + PLOT;
    let totals = buckets.iter().fold((0, 0, 0), |(d, r, f), b| {
        (d + b.delivered, r + b.retrying, f + b.failed)
    });
    let description = format!(
        "Over the last 24 hours: {} delivered, {} waiting or retrying, {} failed. The highest quarter hour had {highest}.",
        totals.0, totals.1, totals.2
    );
    // Hour marks every 4 hours, at slot starts on the hour.
    let labels = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            let time = display_time(&b.start);
            time.get(11..).is_some_and(|t| t.ends_with(":00:00"))
                && time
                    .get(11..13)
                    .and_then(|h| h.parse::<u32>().ok())
                    .is_some_and(|h| h % 4 == 0)
        })
        .map(|(slot, b)| {
            let x = LEFT + BAR * slot as f64;
            let text = display_time(&b.start)
                .get(11..16)
                .unwrap_or_default()
                .to_string();
            view! {
                <line class="chart-tick" x1=x x2=x y1=base y2=base + 4.0 />
                <text class="chart-label" x=x y=base + 16.0 text-anchor="middle">{text}</text>
            }
        })
        .collect_view();
    let bars = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.delivered + b.retrying + b.failed > 0)
        .map(|(slot, b)| {
            let x = LEFT + BAR * slot as f64 + 1.0;
            let mut y = base;
            let mut part = |count: i64, class: &'static str| {
                let height = count as f64 * scale;
                y -= height;
                (count > 0).then(|| {
                    view! { <rect class=class x=x y=y width=BAR - 2.0 height=height /> }
                })
            };
            let delivered = part(b.delivered, "bar-delivered");
            let retrying = part(b.retrying, "bar-retrying");
            let failed = part(b.failed, "bar-failed");
            let title = format!(
                "{} UTC: {} delivered, {} waiting or retrying, {} failed",
                display_time(&b.start),
                b.delivered,
                b.retrying,
                b.failed
            );
            view! {
                <g class="chart-slot">
                    <title>{title}</title>
                    {delivered}
                    {retrying}
                    {failed}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {width} {}", base + 24.0)
                role="img"
                aria-labelledby="chart-title"
                aria-describedby="chart-desc"
                class="delivery-chart"
            >
                <title id="chart-title">"Deliveries per 15 minutes, last 24 hours"</title>
                <desc id="chart-desc">{description}</desc>
                <line class="chart-axis" x1=LEFT x2=width y1=base y2=base />
                <line class="chart-grid" x1=LEFT x2=width y1=TOP y2=TOP />
                <text class="chart-label" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">
                    {highest}
                </text>
                <text class="chart-label" x=LEFT - 6.0 y=base text-anchor="end">
                    "0"
                </text>
                {labels}
                {bars}
            </svg>
            <figcaption class="chart-legend">
                <span class="legend legend-delivered">"Delivered"</span>
                <span class="legend legend-retrying">"Waiting or retrying"</span>
                <span class="legend legend-failed">"Failed"</span>
                <span class="hint">" · times in UTC"</span>
            </figcaption>
        </figure>
    }
}

/// A row per webhook subscription.
#[component]
fn SubscriptionTable(rows: Vec<SubscriptionStats>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty">
                "No webhook subscription yet. "
                <a href=INTEGRATIONS_PATH>"Add one on the Integrations page"</a>
                "."
            </p>
        }
        .into_any();
    }
    view! {
        <Table
            columns=&[
                Shown("Subscription"),
                Shown("Deliveries"),
                Shown("Success rate"),
                Shown("Waiting or retrying"),
                Shown("p50"),
                Shown("p95"),
                Shown("Last error"),
            ]
            class="subscription-stats"
            label="Subscriptions in the last 24 hours"
            wide=true
        >
            {rows
                .into_iter()
                .map(|row| {
                    let label = subscription_label(&row.event, &row.filter);
                    let edit = edit_subscription_path(&row.integration_id, &row.subscription_id);
                    let log = subscription_deliveries_path(&row.subscription_id);
                    let last_error = row.last_error.map_or_else(
                        || view! { <span>{NONE}</span> }.into_any(),
                        |error| {
                            view! {
                                <a href=delivery_path(&error.delivery_id)>{error.message}</a>
                                <span class="hint">{format!(" ({} UTC)", display_time(&error.at))}</span>
                            }
                                .into_any()
                        },
                    );
                    view! {
                        <tr>
                            <td data-label="Subscription">
                                <a href=edit>{label}</a>
                            </td>
                            <td class="number" data-label="Deliveries">
                                <a href=log>{row.deliveries}</a>
                            </td>
                            <td class="number" data-label="Success rate">
                                {percent(row.success_rate)}
                            </td>
                            <td class="number" data-label="Waiting or retrying">
                                {row.retrying}
                            </td>
                            <td class="number nowrap" data-label="p50">
                                {millis(row.p50_duration_ms)}
                            </td>
                            <td class="number nowrap" data-label="p95">
                                {millis(row.p95_duration_ms)}
                            </td>
                            <td class="reason" data-label="Last error">
                                {last_error}
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_words() {
        assert_eq!(percent(Some(0.975)), "97.5 %");
        assert_eq!(percent(None), "—");
        assert_eq!(age(45), "45 s");
        assert_eq!(age(125), "2 min");
        assert_eq!(age(7_200), "2 h");
        assert_eq!(age(200_000), "2 d");
    }
}
