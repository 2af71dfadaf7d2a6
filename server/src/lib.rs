//! Uniform's server as a library: [`run`] starts the whole product on a listener the caller
//! bound, so the binary and the integration tests start it the same way.

#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod config;
pub mod copy;
pub mod crypto;
pub mod db;
pub mod dispatcher;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod outbound;
pub mod records;
pub mod retention;
pub mod rotate;
pub mod startup;
pub mod state;
pub mod templates;
pub mod ui;
pub mod util;
pub mod web;

use std::future::Future;

use tokio::net::TcpListener;

pub use config::Config;
pub use error::StartupError;
pub use state::AppState;

/// Why the server stopped unexpectedly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not start; see the message.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// Prepares the state (data dir, database, migrations) and serves on `listener` until
/// `shutdown` completes; then stops accepting, finishes in-flight requests and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let metrics = bind_metrics(&config).await?;
    let state = startup::prepare(config).await?;
    if let Some(metrics) = metrics {
        spawn_metrics(&state, metrics);
    }
    serve(state, listener, shutdown).await?;
    Ok(())
}

/// Listens on `addr` for `option`; a failure names the option (a taken port in words).
pub async fn bind(
    option: &'static str,
    addr: std::net::SocketAddr,
) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|e| {
        let problem = if e.kind() == std::io::ErrorKind::AddrInUse {
            "the address is already in use".to_string()
        } else {
            e.to_string()
        };
        StartupError::new(option, format!("cannot listen on {addr}: {problem}"))
    })
}

/// Binds `--metrics-bind` when it is set.
pub async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, StartupError> {
    match config.metrics_bind {
        None => Ok(None),
        Some(addr) => bind("--metrics-bind", addr).await.map(Some),
    }
}

/// Serves only `GET /metrics`, without a token, on `listener` for as long as the process
/// runs (it holds no work to finish at shutdown).
pub fn spawn_metrics(state: &AppState, listener: TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("serving /metrics without a token on http://{addr}/metrics");
    }
    let router = web::metrics_router(state.clone());
    let header_read_timeout = state.config.header_read_timeout;
    tokio::spawn(serve_http(
        listener,
        router,
        header_read_timeout,
        std::future::pending(),
    ));
}

/// Serves an already prepared `state` on `listener`, and runs the webhook sender, until
/// `shutdown` completes; then stops accepting, finishes in-flight requests and returns.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let dispatcher = state.dispatcher.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let sender = tokio::spawn(dispatcher.run(stopped(stop_rx.clone())));
    let checkpointer = tokio::spawn(db::checkpoints(state.db.clone(), stopped(stop_rx.clone())));
    // PostgreSQL: deliveries queued by other replicas wake this one's sender.
    let notifications = tokio::spawn({
        let store = state.db.clone();
        let stop = stopped(stop_rx.clone());
        async move { store.listen(stop).await }
    });
    tokio::spawn(retention::run(
        state.db.clone(),
        state.config.delivery_retention,
        stopped(stop_rx.clone()),
    ));
    let session_pruner = tokio::spawn(auth::sessions::run_pruner(
        state.db.clone(),
        state.config.session_idle_timeout,
        stopped(stop_rx.clone()),
    ));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("listening on http://{addr}");
    }
    let header_read_timeout = state.config.header_read_timeout;
    let router = web::router(state);
    serve_http(listener, router, header_read_timeout, stopped(stop_rx)).await;
    let _ = sender.await;
    let _ = checkpointer.await;
    let _ = notifications.await;
    let _ = session_pruner.await;
    Ok(())
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown` completes; then stops
/// accepting and waits for the open connections to finish their requests.
///
/// A client gets `header_read_timeout` to send a request's headers (the first request's and
/// every keep-alive request's); then its connection is closed, so slow-header clients
/// (slowloris) cannot hold connections open. Handlers see the peer as
/// `ConnectInfo<SocketAddr>`.
async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: std::time::Duration,
    shutdown: impl Future<Output = ()>,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt as _;

    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection failures (reset before accept) are the client's; anything
                    // else (out of file descriptors) is waited out, as axum::serve does.
                    if !is_connection_error(&error) {
                        tracing::error!(%error, "accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
