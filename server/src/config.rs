//! The command line and its environment variables: one clap struct, one place.
//!
//! Every option can also come from an `UNIFORM_*` environment variable; `uniform --help`
//! lists both. Validation that needs the file system (is the data dir usable?) happens in
//! [`crate::startup`], so it reports through the same one-line error path as everything else.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Uniform: get a Slack message (or any webhook call) when an event happens in your
/// delivery pipeline.
#[derive(Debug, Parser)]
#[command(
    name = "uniform",
    version,
    after_help = "Logging: RUST_LOG sets the log filter (default: info), e.g. RUST_LOG=debug."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub config: Config,
}

/// What to do; without a subcommand Uniform serves.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Start the web server (the default).
    Serve,
    /// Re-seal every secret under a new master key (run while the server is stopped).
    RotateKey,
    /// Copy this (SQLite) install into an empty PostgreSQL database, for replicas (run
    /// while the server is stopped).
    CopyData(CopyArgs),
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port the web server listens on.
    #[arg(
        long,
        env = "UNIFORM_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// A second address serving only `GET /metrics`, without a token (for a Prometheus that
    /// scrapes a private network); `/metrics` on `--bind` keeps requiring a token.
    #[arg(long, env = "UNIFORM_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Directory for Uniform's state (database, generated keys); created when missing.
    #[arg(
        long,
        env = "UNIFORM_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// sqlx SQLite URL of the database [default: sqlite://<data-dir>/uniform.db].
    #[arg(long, env = "UNIFORM_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Public URL users reach Uniform at; session cookies get `Secure` when it is https
    /// [default: http://<bind>].
    #[arg(long, env = "UNIFORM_PUBLIC_URL", global = true)]
    pub public_url: Option<url::Url>,

    /// Initial REST API token (when no token with this value exists yet, it is added).
    /// Without it, a token is generated at first start into <data-dir>/api-token.
    #[arg(
        long = "api-token",
        env = "UNIFORM_API_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub api_token: Option<String>,

    /// Password of the `admin` user, set at every start. Without it, a password is
    /// generated at first start into <data-dir>/admin-password.
    #[arg(
        long = "admin-password",
        env = "UNIFORM_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<String>,

    /// Master key sealing secret values: base64 of 32 bytes. Without it, the key is
    /// <data-dir>/master.key, created (mode 0600) at first start.
    #[arg(
        long = "master-key",
        env = "UNIFORM_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,

    /// A UI session ends after this long without a request (e.g. 30m, 12h, 7d).
    #[arg(
        long,
        env = "UNIFORM_SESSION_IDLE_TIMEOUT",
        default_value = "12h",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub session_idle_timeout: std::time::Duration,

    /// Address ranges webhooks may reach although they are private, loopback or link-local
    /// (comma-separated CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8).
    #[arg(
        long,
        env = "UNIFORM_WEBHOOK_ALLOW_CIDRS",
        value_delimiter = ',',
        global = true
    )]
    pub webhook_allow_cidrs: Vec<ipnet::IpNet>,

    /// Longest a webhook call may take, connection included (e.g. 10s).
    #[arg(
        long,
        env = "UNIFORM_WEBHOOK_TIMEOUT",
        default_value = "10s",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub webhook_timeout: std::time::Duration,

    /// Longest a webhook connection may take to open (e.g. 5s).
    #[arg(
        long,
        env = "UNIFORM_WEBHOOK_CONNECT_TIMEOUT",
        default_value = "5s",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub webhook_connect_timeout: std::time::Duration,

    /// Host names whose webhooks are paced (the Slack lane; exact match, no port).
    #[arg(
        long,
        env = "UNIFORM_SLACK_HOSTS",
        value_delimiter = ',',
        default_value = "hooks.slack.com",
        global = true
    )]
    pub slack_hosts: Vec<String>,

    /// Requests one Slack webhook URL may get at once before pacing starts.
    #[arg(long, env = "UNIFORM_SLACK_BURST", default_value_t = 3, global = true)]
    pub slack_burst: u32,

    /// After the burst, at most one request per this interval to one Slack webhook URL.
    #[arg(
        long,
        env = "UNIFORM_SLACK_INTERVAL",
        default_value = "1s",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub slack_interval: std::time::Duration,

    /// Waits between delivery attempts; its length is the number of retries
    /// (e.g. 1s,5s,30s,2m,10m,30m,1h,3h).
    #[arg(
        long,
        env = "UNIFORM_RETRY_SCHEDULE",
        default_value = "1s,5s,30s,2m,10m,30m,1h,3h",
        value_parser = parse_schedule,
        global = true
    )]
    pub retry_schedule: RetrySchedule,

    /// How long finished deliveries (delivered or failed) and their attempts are kept; older
    /// ones, and events no delivery refers to any more, are pruned in the background.
    #[arg(
        long,
        env = "UNIFORM_DELIVERY_RETENTION",
        default_value = "30d",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub delivery_retention: std::time::Duration,

    /// How many webhook requests are in flight at the same time, in all.
    #[arg(long, env = "UNIFORM_DELIVERY_CONCURRENCY", default_value_t = 128,
          value_parser = parse_positive, global = true)]
    pub delivery_concurrency: usize,

    /// How many of them may go to one destination (subscription) at the same time, so a
    /// slow receiver cannot take every slot.
    #[arg(long, env = "UNIFORM_DESTINATION_CONCURRENCY", default_value_t = 64,
          value_parser = parse_positive, global = true)]
    pub destination_concurrency: usize,

    /// How long a claimed delivery stays leased to its sender between renewals (renewed
    /// every third of it while the delivery waits in its lane or is being sent). With
    /// several replicas, the deliveries a dead replica had in flight are taken over by the
    /// others this long after its last renewal.
    #[arg(
        long,
        env = "UNIFORM_DELIVERY_LEASE",
        default_value = "60s",
        value_parser = parse_lease,
        global = true
    )]
    pub delivery_lease: std::time::Duration,

    /// How many checked events may wait for the database writer; when full,
    /// `POST /api/v1/event` answers 503 with `Retry-After`. Not an option: tests shrink it.
    #[arg(skip = 1024_usize)]
    pub ingest_queue: usize,

    /// Log line format: text (human-readable lines) or json (one JSON object per line).
    #[arg(
        long,
        env = "UNIFORM_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Longest a client may take to send a request's headers before its connection is
    /// closed (slowloris). Not an option: tests shorten it.
    #[arg(skip = DEFAULT_HEADER_READ_TIMEOUT)]
    pub header_read_timeout: std::time::Duration,
}

/// How long a client may take to send a request's headers.
pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The waits between delivery attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<std::time::Duration>);

/// The default schedule: the waits after attempts 1, 2, 3, … (`UNIFORM_RETRY_SCHEDULE`'s
/// default, written out).
pub const DEFAULT_RETRY_SCHEDULE: [std::time::Duration; 8] = {
    use std::time::Duration;
    [
        Duration::from_secs(1),
        Duration::from_secs(5),
        Duration::from_secs(30),
        Duration::from_secs(2 * 60),
        Duration::from_secs(10 * 60),
        Duration::from_secs(30 * 60),
        Duration::from_secs(60 * 60),
        Duration::from_secs(3 * 60 * 60),
    ]
};

fn parse_positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{value:?} is not a whole number of at least 1")),
    }
}

/// Parses a comma-separated schedule such as `1s,5s,30s,2m`.
fn parse_schedule(value: &str) -> Result<RetrySchedule, String> {
    value
        .split(',')
        .map(|part| humantime::parse_duration(part.trim()).map_err(|e| format!("{part:?}: {e}")))
        .collect::<Result<_, _>>()
        .map(RetrySchedule)
}

/// How log lines are written to stderr. (The variants carry no doc comments on purpose:
/// clap would turn them into a "Possible values:" list that pushes the option's `[env: …]`
/// out of its paragraph in `--help`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    // Human-readable lines.
    Text,
    // One JSON object per line.
    Json,
}

/// A lease of at least 1 s (humantime, e.g. `60s`).
fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if lease < std::time::Duration::from_secs(1) {
        return Err("must be at least 1s".to_string());
    }
    Ok(lease)
}

impl Config {
    /// A configuration with every default, rooted in `data_dir` (handy for tests and tools).
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_bind: None,
            data_dir: data_dir.into(),
            database_url: None,
            public_url: None,
            api_token: None,
            admin_password: None,
            master_key: None,
            webhook_allow_cidrs: Vec::new(),
            slack_hosts: vec!["hooks.slack.com".to_string()],
            slack_burst: 3,
            slack_interval: std::time::Duration::from_secs(1),
            retry_schedule: RetrySchedule(DEFAULT_RETRY_SCHEDULE.to_vec()),
            webhook_timeout: std::time::Duration::from_secs(10),
            webhook_connect_timeout: std::time::Duration::from_secs(5),
            session_idle_timeout: std::time::Duration::from_secs(12 * 3600),
            delivery_retention: std::time::Duration::from_secs(30 * 24 * 3600),
            delivery_concurrency: 128,
            destination_concurrency: 64,
            delivery_lease: std::time::Duration::from_secs(60),
            ingest_queue: 1024,
            log_format: LogFormat::Text,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    /// Whether the public URL is https (session cookies then get `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|url| url.scheme() == "https")
    }

    /// The database URL in effect: the explicit one, else `<data-dir>/uniform.db`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("uniform.db").display()),
        }
    }
}

/// The arguments of `uniform copy-data`.
#[derive(Debug, Clone, clap::Args)]
pub struct CopyArgs {
    /// The PostgreSQL database to fill (postgres://user:password@host:port/database); it
    /// must hold no Uniform data yet (an empty database, or one only migrated).
    #[arg(long, value_name = "POSTGRES_URL")]
    pub to: String,

    /// Also copy the history: events, deliveries (with their state: pending ones are sent
    /// from the new database) and delivery attempts.
    #[arg(long)]
    pub with_history: bool,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn schedules_parse_from_the_command_line() {
        assert_eq!(
            parse_schedule("1s, 5s,2m").unwrap().0,
            [
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(120)
            ]
        );
        assert!(parse_schedule("1s,x").is_err());
    }

    #[test]
    fn the_command_line_default_is_the_written_out_one() {
        // Read from the option itself, so an UNIFORM_RETRY_SCHEDULE in the environment
        // cannot stand in for the default.
        let command = Cli::command();
        let option = command
            .get_arguments()
            .find(|argument| argument.get_id() == "retry_schedule")
            .unwrap();
        let [default] = option.get_default_values() else {
            panic!("one default value expected");
        };
        let default = parse_schedule(default.to_str().unwrap()).unwrap();
        assert_eq!(default.0, DEFAULT_RETRY_SCHEDULE);
    }
}
