//! The HTTP endpoint of `nexus run`: `GET /metrics` (Prometheus text) and `GET /health` (JSON;
//! 200 when healthy, 503 otherwise).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use nexus_model::config::MetricsConfig;
use tokio::sync::watch;

use super::telemetry::Telemetry;

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds `listen` (from `metrics.listen`); the listener says which port it got. When the default
/// address is taken (another worker on this host, a second process of a cluster), a free port on
/// the same interface is used instead, with a warning; an address set in the file must be free.
pub async fn bind_or_fallback(listen: &str) -> std::io::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(listen).await {
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && listen == MetricsConfig::default().listen => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            tracing::warn!(default = listen, serving = ?listener.local_addr().ok(), "metrics: the default address is taken; serving on a free port");
            Ok(listener)
        }
        other => other,
    }
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    telemetry: Arc<Telemetry>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).route("/health", get(health)).with_state(telemetry);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

/// The address a bound listener serves on, for the start-up message.
pub fn address(listener: &tokio::net::TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}

async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], telemetry.encode())
}

async fn health(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    let health = telemetry.health();
    let status = if health.ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(health))
}
