//! The application state every handler and server function receives.

use std::sync::Arc;

use crate::db::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::crypto::Keyring;
use crate::dispatcher::Dispatcher;

/// Shared by all requests; cheap to clone: one reference count (every middleware and
/// handler takes a copy, four or five per API request), the fields read through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// The one SQLite pool of the process.
    pub db: Store,
    /// Where the site's assets are and what they are called.
    pub leptos_options: Arc<LeptosOptions>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The master key (and, mid-rotation, the previous one) sealing secret values.
    pub keyring: Arc<Keyring>,
    /// Stores incoming events and their deliveries in groups.
    pub ingestor: Arc<crate::domain::events::Ingestor>,
    /// The webhook sender (its loop is started by [`crate::serve`]; test sends use its
    /// client, guard and pacing directly).
    pub dispatcher: Arc<Dispatcher>,
}

/// Leptos' routes read the options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        (*state.leptos_options).clone()
    }
}
