//! The `uniform` binary: parse the command line, set up logging, start the server, stop
//! cleanly on SIGINT/SIGTERM. Any start-up problem is one line on stderr and exit code 2.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command, Config, LogFormat};
use server::startup::{DataDirLock, LockHolder};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: every event and delivery allocates many small
/// short-lived values across threads, which glibc's malloc serves slower (see the README's
/// benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            if !error.use_stderr() {
                // --help and --version
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("uniform: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    // copy-data's output is its count lines: only warnings and errors are logged.
    let default_filter = match cli.command {
        Some(Command::CopyData(_)) => "warn",
        // PostgreSQL's notices ("relation _sqlx_migrations already exists" at every start)
        // are not news.
        _ => "info,sqlx::postgres::notice=warn",
    };
    init_logging(cli.config.log_format, default_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("uniform: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime.block_on(serve(cli.config)),
        Command::RotateKey => runtime.block_on(rotate_key(cli.config)),
        Command::CopyData(args) => runtime.block_on(copy_data(cli.config, args)),
    }
}

async fn copy_data(config: Config, args: server::config::CopyArgs) -> ExitCode {
    match server::copy::copy_data(&config, &args).await {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("uniform: {error}");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let bind = config.bind;
    // Bind first: a taken port is reported before anything touches the data directory.
    // The socket only queues connections until the state is ready and `serve` accepts.
    let listener = match server::bind("--bind", bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("uniform: {error}");
            return ExitCode::from(2);
        }
    };
    let metrics = match server::bind_metrics(&config).await {
        Ok(metrics) => metrics,
        Err(error) => {
            eprintln!("uniform: {error}");
            return ExitCode::from(2);
        }
    };
    // Held until the process exits: no second server and no `rotate-key` can use the
    // data directory meanwhile.
    let _lock = match DataDirLock::acquire(&config.data_dir, LockHolder::Server) {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("uniform: {error}");
            return ExitCode::from(2);
        }
    };
    let state = match server::startup::prepare(config).await {
        Ok(state) => state,
        Err(error) => {
            eprintln!("uniform: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(metrics) = metrics {
        server::spawn_metrics(&state, metrics);
    }
    // Handlers are installed now, before "listening" is logged, so a signal sent as soon
    // as the server is up is a graceful stop rather than the default kill.
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("uniform: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    match server::serve(state, listener, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn rotate_key(config: Config) -> ExitCode {
    // With UNIFORM_MASTER_KEY the new key goes to stdout before the re-seal commits.
    match server::rotate::rotate_key(&config).await {
        Ok(rotation) => {
            let id = rotation.key.key_id();
            let count = rotation.resealed;
            match (rotation.written_to, rotation.finished_interrupted) {
                (Some(path), true) => eprintln!(
                    "uniform: finished the interrupted rotation: re-sealed {count} secret values under the master key {id} in {}",
                    path.display()
                ),
                (Some(path), false) => eprintln!(
                    "uniform: re-sealed {count} secret values under the new master key {id} (written to {})",
                    path.display()
                ),
                (None, _) => eprintln!(
                    "uniform: re-sealed {count} secret values under the new master key {id}; set UNIFORM_MASTER_KEY to the value printed on stdout before starting the server"
                ),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("uniform: {error}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Installs SIGINT and SIGTERM handlers; the future completes on the first of either.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
