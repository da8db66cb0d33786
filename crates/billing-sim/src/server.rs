//! The accept loop. Each connection is served by its own task, owned by a
//! `JoinSet`, and carries a kill switch: a handler that trips it makes the
//! connection close without a response (the "charged, then dropped" fault).

use std::future::Future;
use std::sync::Arc;

use axum::Extension;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{router, App};

/// Closes the request's connection without answering when cancelled.
#[derive(Clone)]
pub struct ConnectionKill(pub CancellationToken);

/// Serves until `shutdown` resolves.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let routes = router(app);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let kill = CancellationToken::new();
        let service = TowerToHyperService::new(
            routes
                .clone()
                .layer(Extension(ConnectionKill(kill.clone()))),
        );
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = kill.cancelled() => {}
            }
        });
    }
    connections.shutdown().await;
}
