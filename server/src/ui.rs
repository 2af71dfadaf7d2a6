//! The server's side of the UI port: [`app::ssr::Backend`] implemented over the shared
//! domain operations, and the context every Leptos render and server function receives.

use std::sync::Arc;

use app::error::AppError;
use app::model::{NewToken, TokenInfo};
use app::ssr::Backend;
use leptos::prelude::{provide_context, use_context};

use crate::auth::middleware::CspNonce;
use crate::auth::tokens;
use crate::state::AppState;

/// The backend the UI's server functions call.
pub struct UiBackend {
    state: AppState,
}

#[async_trait::async_trait]
impl Backend for UiBackend {
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AppError> {
        Ok(tokens::list(&self.state.db).await?)
    }

    async fn create_token(&self, name: String) -> Result<NewToken, AppError> {
        Ok(tokens::create(&self.state.db, &name).await?)
    }

    async fn revoke_token(&self, id: String) -> Result<(), AppError> {
        Ok(tokens::revoke(&self.state.db, &id).await?)
    }
}

/// A closure that provides, inside each Leptos render or server-function call, the backend
/// and this request's CSP nonce (so the inline hydration script carries the nonce the
/// `Content-Security-Policy` header allows).
pub fn context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let backend: Arc<dyn Backend> = Arc::new(UiBackend { state });
    move || {
        provide_context(backend.clone());
        let nonce = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    }
}
