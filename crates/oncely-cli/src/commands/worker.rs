//! `oncely worker`: runs `command` jobs until SIGTERM or Ctrl-C.

use std::time::Duration;

use oncely::kinds::allowed::AllowedPrograms;
use oncely::kinds::command::{CommandWorker, KIND};
use oncely::worker::ClientConfig;
use oncely::{Client, Store};

use crate::cli::WorkerArgs;
use crate::error::CliError;

pub async fn run(store: Store, args: WorkerArgs) -> Result<(), CliError> {
    let queues = parse_queues(&args.queues)?;
    let command_worker = allowed_programs(&args)?;
    let allowed = command_worker.allowed().to_string();
    let secs = |name: &str, v: f64| {
        Duration::try_from_secs_f64(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| CliError::Usage(format!("--{name} {v} must be positive")))
    };
    let mut config = ClientConfig::default().with_lease(secs("lease-secs", args.lease_secs)?);
    config.shutdown_grace = Duration::try_from_secs_f64(args.shutdown_grace_secs)
        .map_err(|_| CliError::Usage("--shutdown-grace-secs must be 0 or more".into()))?;
    config.poll_interval = Duration::from_millis(args.poll_interval_ms.max(1));
    config.prefetch = args.prefetch;
    config.rescue_every = config.rescue_every.min(config.lease);
    config.leader.ttl = secs("leader-ttl-secs", args.leader_ttl_secs)?;
    config.maintenance = !args.no_maintenance;
    if let Some(after) = args.reconcile_after_secs {
        config.reconcile_after = Duration::try_from_secs_f64(after)
            .map_err(|_| CliError::Usage("--reconcile-after-secs must be 0 or more".into()))?;
    }
    if let Some(id) = args.worker_id {
        config.worker_id = id;
    }
    let histograms = super::dashboard::WorkerMetrics::new(&config.worker_id);
    let mut builder = Client::builder(store)
        .config(config)
        .register(KIND, command_worker);
    if args.metrics_listen.is_some() {
        builder = builder.observer(std::sync::Arc::new(histograms.clone()));
    }
    for (queue, concurrency) in &queues {
        builder = builder.queue(queue.clone(), *concurrency);
    }
    let client = builder.build()?;
    let metrics = match &args.metrics_listen {
        Some(listen) => Some(super::dashboard::bind(listen).await?),
        None => None,
    };
    tracing::info!(worker = %client.config().worker_id, queues = %args.queues, %allowed, "worker started");
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let work = client.run_until(async move {
        oncely::worker::shutdown_signal().await;
        let _ = stopping.send(true);
    });
    match metrics {
        None => work.await,
        Some(listener) => {
            let serve = serve_metrics(listener, &client, histograms, stopped);
            let ((), served) = tokio::join!(work, serve);
            served?;
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}

/// Serves the worker's counters and histograms at `/metrics` until
/// `stopped` turns true.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    client: &Client,
    histograms: super::dashboard::WorkerMetrics,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<(), CliError> {
    let stats = client.stats().clone();
    let addr = listener.local_addr().map_err(CliError::Output)?;
    crate::say!("oncely worker metrics at http://{addr}/metrics");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = histograms.render(&stats.snapshot());
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        super::dashboard::METRICS_CONTENT_TYPE,
                    )],
                    text,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(CliError::Output)
}

/// `q1=10,q2=4` into pairs; a bare `q` means concurrency 10.
fn parse_queues(spec: &str) -> Result<Vec<(String, u32)>, CliError> {
    let mut queues = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, n) = match part.split_once('=') {
            Some((name, n)) => {
                let n: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    CliError::Usage(format!("--queues: {part:?} needs a positive concurrency"))
                })?;
                (name.trim(), n)
            }
            None => (part, 10),
        };
        oncely::job::validate_queue(name)?;
        queues.push((name.to_owned(), n));
    }
    if queues.is_empty() {
        return Err(CliError::Usage("--queues names no queue".into()));
    }
    Ok(queues)
}

/// The programs this worker may run: it refuses to start without a choice,
/// as a worker that may run nothing would only discard jobs.
fn allowed_programs(args: &WorkerArgs) -> Result<CommandWorker, CliError> {
    if args.allow_any_program {
        return Ok(CommandWorker::allowing_any());
    }
    if args.allow_program.is_empty() {
        return Err(CliError::Usage(
            "say which programs this worker's command jobs may run: --allow-program PATH \
             (repeatable; globs like /opt/billing/bin/*), or --allow-any-program when \
             nobody untrusted can write to the database"
                .into(),
        ));
    }
    AllowedPrograms::only(&args.allow_program)
        .map(CommandWorker::new)
        .map_err(|e| CliError::Usage(format!("--allow-program: {e}")))
}

#[cfg(test)]
mod tests {
    use super::parse_queues;

    #[test]
    fn parses_queue_specs() {
        assert_eq!(
            parse_queues("a=10, b=4,c").expect("ok"),
            vec![("a".into(), 10), ("b".into(), 4), ("c".into(), 10)]
        );
        for bad in ["", "a=0", "a=x", "bad name=3", ","] {
            assert!(parse_queues(bad).is_err(), "{bad:?} accepted");
        }
    }
}
