//! The operations every entry point shares (REST API, UI server functions, later the
//! dispatcher), so each rule — validation, sealing, what may be shown — is written once.

pub mod deliveries;
pub mod events;
pub mod insight;
pub mod integrations;
pub mod secrets;
