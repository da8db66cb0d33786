//! Logs and traces of the `oncely` binary: log lines on stderr as text or
//! JSON (each event with its span: an attempt's queue, kind, job, attempt
//! and fence; a maintenance pass's service), and — with the `otlp` cargo
//! feature and `--otlp-endpoint` — every span exported over OTLP/HTTP.
//!
//! Invariant: [`Telemetry::shutdown`] flushes spans not yet exported before
//! the process exits; an unreachable collector never stops the program (the
//! exporter drops spans and says so on stderr).

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::cli::LogFormat;

/// What must be flushed at exit.
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is still buffered (no-op without OTLP).
    pub fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                eprintln!("oncely: flushing traces failed: {error}");
            }
        }
    }
}

/// Installs the subscriber. `otlp_endpoint` (feature `otlp`) is the
/// collector's base URL, e.g. `http://127.0.0.1:4318`.
pub fn init(
    verbose: u8,
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<Telemetry, String> {
    let default = match verbose {
        0 => "oncely=info,oncely_cli=info",
        1 => "oncely=debug,oncely_cli=debug",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("ONCELY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(lines).with(filter);
    #[cfg(feature = "otlp")]
    {
        let provider = otlp_endpoint.map(otlp::provider).transpose()?;
        let layer = provider.as_ref().map(|p| {
            use opentelemetry::trace::TracerProvider as _;
            tracing_opentelemetry::layer().with_tracer(p.tracer("oncely"))
        });
        subscriber.with(layer).init();
        Ok(Telemetry { provider })
    }
    #[cfg(not(feature = "otlp"))]
    {
        if otlp_endpoint.is_some() {
            return Err("this oncely was built without the `otlp` feature".into());
        }
        subscriber.init();
        Ok(Telemetry {})
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry_otlp::WithExportConfig as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::Resource;

    /// A provider exporting in batches to `{endpoint}/v1/traces`.
    pub fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
        let base = endpoint.trim_end_matches('/');
        let url = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url.clone())
            .build()
            .map_err(|e| format!("--otlp-endpoint {url}: {e}"))?;
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("oncely").build())
            .build())
    }
}
