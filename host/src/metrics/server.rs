//! The `/metrics` responder: HTTP/1.x on a tokio listener of the host's own, one request
//! per connection, `GET /metrics` answered with the OpenMetrics text and anything else
//! with 404 / 405. Enough for Prometheus and curl; no HTTP library needed for that.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Metrics;

/// The longest request head read, and how long a client may take to send it.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What Prometheus asks for; the text is OpenMetrics 1.0.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics being served; the listener closes when this is dropped.
pub struct MetricsServer {
    metrics: Arc<Metrics>,
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Where it listens (the port chosen when `ADDR` had port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The series served.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `address` and serves the metrics there from a task on the current tokio runtime.
pub async fn serve(address: SocketAddr) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    tracing::info!("serving metrics on http://{address}/metrics");
    let metrics = Arc::new(Metrics::new());
    let served = metrics.clone();
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((client, _)) => {
                    tokio::spawn(answer(client, served.clone()));
                }
                // Out of descriptors, most likely: pause rather than spin.
                Err(error) => {
                    tracing::debug!("metrics listener: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(MetricsServer { metrics, address, task })
}

async fn answer(mut client: TcpStream, metrics: Arc<Metrics>) {
    let head = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut client)).await {
        Ok(Some(head)) => head,
        _ => return,
    };
    let response = respond(&head, &metrics);
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// Reads up to the blank line ending the request head; `None` if the client closed first
/// or sent too much.
async fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The whole response to a request whose head is `head`.
fn respond(head: &str, metrics: &Metrics) -> String {
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, metrics.encode()),
        (_, "/metrics") => ("405 Method Not Allowed", "text/plain", "GET only\n".to_string()),
        _ => ("404 Not Found", "text/plain", "metrics are at /metrics\n".to_string()),
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_get_metrics_only() {
        let metrics = Metrics::new();
        metrics.instance("0");
        let ok = respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &metrics);
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("wasio_connections_accepted_total{instance=\"0\"} 0"), "{ok}");
        assert!(respond("POST /metrics HTTP/1.1\r\n\r\n", &metrics).starts_with("HTTP/1.1 405"));
        assert!(respond("GET / HTTP/1.1\r\n\r\n", &metrics).starts_with("HTTP/1.1 404"));
    }
}
