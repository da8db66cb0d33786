//! Argument definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run work once and only once across many servers sharing one database.
#[derive(Debug, Parser)]
#[command(name = "oncely", version, about)]
pub struct Cli {
    /// Database URL: postgres://…, postgresql://…, mysql://…, mariadb://… or sqlite://PATH.
    #[arg(long, env = "ONCELY_DATABASE_URL", default_value = oncely::store::DatabaseUrl::DEFAULT, global = true)]
    pub database_url: String,

    /// More logging (-v debug, -vv everything). ONCELY_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log lines on stderr as text, or as one JSON object per line (with the
    /// span of each event: an attempt's queue, kind, job, attempt and fence;
    /// a maintenance pass's service).
    #[arg(long, value_enum, env = "ONCELY_LOG_FORMAT", default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Export traces over OTLP/HTTP to this collector (e.g.
    /// `http://127.0.0.1:4318`; spans go to `/v1/traces`). Needs the `otlp`
    /// cargo feature.
    #[cfg(feature = "otlp")]
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The OTLP collector to export traces to, if any.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        #[cfg(feature = "otlp")]
        {
            self.otlp_endpoint.as_deref()
        }
        #[cfg(not(feature = "otlp"))]
        {
            None
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the database schema (a second run does nothing).
    Migrate,
    /// Insert a job and print its id.
    Enqueue(EnqueueArgs),
    /// Run `command` jobs until SIGTERM or Ctrl-C, then shut down gracefully.
    Worker(WorkerArgs),
    /// Inspect and operate jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Job counts per queue and state, and the current leader; pause and resume queues.
    Queues(QueuesArgs),
    /// Periodic jobs that fire once per period across all servers.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Serve the operator's console: pages, actions, a JSON API and Prometheus metrics.
    #[command(alias = "console")]
    Dashboard(DashboardArgs),
}

/// `oncely dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Address to listen on (pages at `/`, the JSON API under `/api`, `/metrics`).
    /// Loopback by default; put anything wider behind TLS.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The secret that actions need (at least 16 characters): API requests send
    /// `Authorization: Bearer TOKEN`, browsers sign in with it. Default: one is
    /// generated and printed at start.
    #[arg(long, env = "ONCELY_DASHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve pages and reads only: no action at all.
    #[arg(long)]
    pub read_only: bool,
}

/// `oncely schedule ...`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add (or replace) a schedule running a program once per period.
    Add(ScheduleAddArgs),
    /// List schedules: last fired period, next period, the leader.
    List(FormatArg),
    /// Remove a schedule (periods already fired stay recorded).
    Remove {
        /// The schedule's name.
        name: String,
    },
}

/// `oncely schedule add`.
#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// Unique name of the schedule.
    pub name: String,
    /// Cron expression: 5 fields, 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly.
    #[arg(long, conflicts_with = "every", required_unless_present = "every")]
    pub cron: Option<String>,
    /// Instead of cron: a fixed period in whole seconds, aligned to the Unix epoch.
    #[arg(long)]
    pub every: Option<u64>,
    /// IANA time zone of the cron expression (daylight saving handled).
    #[arg(long, default_value = "UTC")]
    pub tz: String,
    /// Queue of the jobs.
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// Each period's job must run at most once (a vanished worker leaves it in doubt).
    #[arg(long)]
    pub at_most_once: bool,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Missed periods: skip (fire only on time), latest (fire the latest once), all (each, up to --catch-up-max).
    #[arg(long, default_value = "latest")]
    pub catch_up: String,
    /// With --catch-up all: the most periods fired at once.
    #[arg(long, default_value_t = 100)]
    pub catch_up_max: u32,
    /// Attempts of each period's job.
    #[arg(long, default_value_t = 20)]
    pub max_attempts: i32,
    /// The program and its arguments: `-- PROGRAM ARGS...`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The reconcile program of a `command` job.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Makes the command job reconcilable (and at-most-once): when it is in
    /// doubt, PROGRAM runs with the job's environment and ONCELY_RECONCILING=1;
    /// exit 0 = the effect happened (complete), 1 = it did not (run again),
    /// other = cannot tell (ask again later).
    #[arg(long, value_name = "PROGRAM")]
    pub reconcile_with: Option<String>,
    /// An argument of the reconcile program (repeat for several).
    #[arg(
        long,
        value_name = "ARG",
        requires = "reconcile_with",
        allow_hyphen_values = true
    )]
    pub reconcile_arg: Vec<String>,
}

impl ReconcileArgs {
    /// The reconcile program's argv, if one was given.
    pub fn argv(&self) -> Option<Vec<String>> {
        self.reconcile_with.as_ref().map(|program| {
            std::iter::once(program.clone())
                .chain(self.reconcile_arg.iter().cloned())
                .collect()
        })
    }
}

/// `oncely enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// Queue name ([A-Za-z0-9_.-]{1,128}).
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// Job kind (not with a trailing command).
    #[arg(long)]
    pub kind: Option<String>,
    /// Job args as a JSON object or array (with --kind).
    #[arg(long, conflicts_with = "args_file")]
    pub args: Option<String>,
    /// Read the job args from this file (`-` for stdin), for large payloads.
    #[arg(long, value_name = "PATH")]
    pub args_file: Option<std::path::PathBuf>,
    /// Run no earlier than this instant (RFC 3339).
    #[arg(long)]
    pub run_at: Option<String>,
    /// Deduplicate: while a job with this key is not final, return it instead.
    #[arg(long)]
    pub unique_key: Option<String>,
    /// Attempts before the job is discarded (1..=1000).
    #[arg(long, default_value_t = 20)]
    pub max_attempts: i32,
    /// 0 (runs first) to 9.
    #[arg(long, default_value_t = 0)]
    pub priority: i16,
    /// Never repeat an attempt that may have started: a vanished worker leaves the job in doubt.
    #[arg(long)]
    pub at_most_once: bool,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Time limit of each attempt, in seconds.
    #[arg(long)]
    pub timeout_secs: Option<f64>,
    /// The program and its arguments, for a `command` job: `-- PROGRAM ARGS...`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `oncely worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Queues and their concurrency on this worker, as `q1=10,q2=4`.
    #[arg(long, default_value = "default=10")]
    pub queues: String,
    /// Lease length in seconds (heartbeats every third of it).
    #[arg(long, default_value_t = 30.0)]
    pub lease_secs: f64,
    /// Seconds running jobs may finish after SIGTERM before their leases are handed back.
    #[arg(long, default_value_t = 30.0)]
    pub shutdown_grace_secs: f64,
    /// Poll period in milliseconds (the fallback when notifications are missed).
    #[arg(long, default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// Most jobs a queue may claim ahead of its free slots, held under their
    /// leases for at most a heartbeat period (idempotent work only; 0: off).
    /// It holds eight per slot, or what its slots started in the last
    /// quarter second if more, up to this.
    #[arg(long, default_value_t = 1000)]
    pub prefetch: u32,
    /// Name recorded on claimed jobs and in leader election (default: host-pid-random).
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Leadership lease in seconds: after a crash of the leader another takes over within it.
    #[arg(long, default_value_t = 15.0)]
    pub leader_ttl_secs: f64,
    /// Serve this worker's counters for Prometheus at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Seconds an in-doubt job waits before its reconcile program first runs
    /// (longer than the time an outside system may still act on a request
    /// whose caller gave up). Default: the lease.
    #[arg(long)]
    pub reconcile_after_secs: Option<f64>,
    /// Do not take part in leader election (no rescuer, schedules or pruning from this worker).
    #[arg(long)]
    pub no_maintenance: bool,
    /// A program `command` jobs may run on this worker: an absolute path or
    /// glob (`/opt/billing/bin/*`; `*` stays within a directory, `**` does
    /// not). Repeat for more. Jobs naming any other program are discarded
    /// without running, the reason recorded.
    #[arg(long, value_name = "PATH")]
    pub allow_program: Vec<String>,
    /// Run any program a `command` job names: only when nobody untrusted
    /// can write to the database.
    #[arg(long, conflicts_with = "allow_program")]
    pub allow_any_program: bool,
}

/// `oncely jobs ...`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(ListArgs),
    /// Show one job in full (JSON).
    Show {
        /// The job id.
        id: i64,
    },
    /// Make a job that is not running available now.
    Retry {
        /// The job id.
        id: i64,
        #[command(flatten)]
        decision: DecisionArgs,
    },
    /// Cancel a job that is not final. A running one is asked to stop: it is
    /// cancelled once its attempt has stopped, and cannot be retried before.
    Cancel {
        /// The job id.
        id: i64,
        #[command(flatten)]
        decision: DecisionArgs,
    },
    /// Decide an in-doubt job: its effect happened (completed), did not (retry), or give it up (discarded).
    Resolve {
        /// The job id.
        id: i64,
        /// The decision: completed, retry or discarded.
        #[arg(long = "as", value_name = "DECISION")]
        decision: String,
        /// Why (recorded on the job with who and when).
        #[arg(long)]
        reason: String,
        /// Who decides (default: $USER on this host).
        #[arg(long)]
        by: Option<String>,
    },
}

/// `oncely jobs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this state (scheduled, available, running, retryable, completed, discarded, cancelled, in_doubt).
    #[arg(long)]
    pub state: Option<String>,
    /// Only this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// At most this many jobs.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Who takes an operator action and why (recorded with it).
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// Why (recorded with who and when).
    #[arg(long, default_value = "no reason given")]
    pub reason: String,
    /// Who decides (default: $USER on this host).
    #[arg(long)]
    pub by: Option<String>,
}

/// `oncely queues [pause|resume NAME]`.
#[derive(Debug, Args)]
pub struct QueuesArgs {
    /// Without a subcommand: the counts.
    #[command(subcommand)]
    pub action: Option<QueuesCommand>,
    #[command(flatten)]
    pub format: FormatArg,
}

/// `oncely queues pause|resume`.
#[derive(Debug, Subcommand)]
pub enum QueuesCommand {
    /// Stop every worker of the fleet from claiming from a queue (running
    /// attempts go on); survives restarts.
    Pause {
        /// The queue.
        name: String,
        #[command(flatten)]
        decision: DecisionArgs,
    },
    /// Let workers claim from a paused queue again.
    Resume {
        /// The queue.
        name: String,
        #[command(flatten)]
        decision: DecisionArgs,
    },
}

/// A `--format` flag alone.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Formats of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}
