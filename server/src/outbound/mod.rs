//! Outbound HTTP, shared by the sender and by the checks made when a webhook is saved: the
//! SSRF guard (which addresses a webhook or proxy may reach) and the hardened clients built
//! on it (timeouts, no redirects, the guard as resolver, a bounded cache of proxy clients).

pub mod clients;
pub mod guard;
