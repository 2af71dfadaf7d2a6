//! The pages' paths, and the links into them that more than one page makes (a page links to
//! another through these, never through the other page's module).

use leptos_router::params::ParamsMap;

/// The path of the Events page.
pub const EVENTS_PATH: &str = "/uniform/events";

/// `/uniform/events/<id>`
pub fn event_path(id: &str) -> String {
    format!("{EVENTS_PATH}/{id}")
}

/// The path of the Integrations page.
pub const INTEGRATIONS_PATH: &str = "/uniform/integrations";

/// `/uniform/integrations/<id>`
pub fn integration_path(id: &str) -> String {
    format!("{INTEGRATIONS_PATH}/{id}")
}

/// `/uniform/integrations/<integration>/subscriptions/<subscription>/edit`
pub fn edit_subscription_path(integration_id: &str, subscription_id: &str) -> String {
    format!("{INTEGRATIONS_PATH}/{integration_id}/subscriptions/{subscription_id}/edit")
}

/// The path of the delivery log.
pub const DELIVERIES_PATH: &str = "/uniform/deliveries";

/// `/uniform/deliveries/<id>`
pub fn delivery_path(id: &str) -> String {
    format!("{DELIVERIES_PATH}/{id}")
}

/// `/uniform/deliveries?subscription=<id>`: the deliveries of one subscription.
pub fn subscription_deliveries_path(subscription_id: &str) -> String {
    let query: ParamsMap = [("subscription", subscription_id.to_string())]
        .into_iter()
        .collect();
    format!("{DELIVERIES_PATH}{}", query.to_query_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_their_page() {
        assert_eq!(event_path("e1"), "/uniform/events/e1");
        assert_eq!(integration_path("i1"), "/uniform/integrations/i1");
        assert_eq!(
            edit_subscription_path("i1", "s1"),
            "/uniform/integrations/i1/subscriptions/s1/edit"
        );
        assert_eq!(delivery_path("d1"), "/uniform/deliveries/d1");
        assert_eq!(
            subscription_deliveries_path("abc"),
            "/uniform/deliveries?subscription=abc"
        );
    }
}
