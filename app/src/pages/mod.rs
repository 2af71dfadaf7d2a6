//! One module per route.

pub mod deliveries;
pub mod delivery_detail;
pub mod event_detail;
pub mod events;
pub mod integrations;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod secret_form;
pub mod secrets;
pub mod subscription_form;
pub mod tokens;
