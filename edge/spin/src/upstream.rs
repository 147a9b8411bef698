//! Writes (and every other request the snapshot cannot answer) forwarded to the
//! coordinator over outbound HTTP (`wasi:http`), and the plain GETs of snapshots.

use bytes::Bytes;
use onsale_edge::{EdgeRequest, EdgeResponse, Upstream, UpstreamError};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, FullBody, send};

use crate::header_pairs;

/// Response headers that describe the coordinator's connection, not the message.
const CONNECTION_HEADERS: &[&str] = &["transfer-encoding", "connection", "content-length"];

/// The coordinator at a base URL.
pub struct HttpUpstream {
    base: String,
}

impl HttpUpstream {
    /// Forwards to the coordinator at `base` (`https://host[:port]`).
    pub fn new(base: &str) -> Self {
        HttpUpstream {
            base: base.trim_end_matches('/').to_string(),
        }
    }
}

impl Upstream for HttpUpstream {
    async fn forward(&self, request: EdgeRequest) -> Result<EdgeResponse, UpstreamError> {
        let failed = |e: &dyn std::fmt::Debug| UpstreamError(format!("{e:?}"));
        let mut outgoing = http::Request::builder()
            .method(request.method.as_str())
            .uri(format!("{}{}", self.base, request.path_and_query()));
        for (name, value) in request.forwarded_headers() {
            outgoing = outgoing.header(name, value);
        }
        let outgoing = outgoing
            .body(FullBody::new(request.body))
            .map_err(|e| failed(&e))?;
        let response = send(outgoing).await.map_err(|e| failed(&e))?;
        let status = response.status().as_u16();
        let headers = header_pairs(response.headers())
            .into_iter()
            .filter(|(name, _)| !CONNECTION_HEADERS.contains(&name.as_str()))
            .collect();
        let body = response.into_body().bytes().await.map_err(|e| failed(&e))?;
        Ok(EdgeResponse {
            status,
            headers,
            body,
        })
    }
}

/// `GET url`, which must answer 200 with the whole body its `Content-Length` announces.
///
/// (`wasmtime serve` 49 ends an outbound response body after its first 8 KiB frame; the
/// length check turns that into a clear error instead of a corrupt snapshot.)
pub async fn get(url: &str) -> Result<Bytes, String> {
    let request = http::Request::get(url)
        .body(EmptyBody::new())
        .map_err(|e| format!("{url}: {e}"))?;
    let response = send(request).await.map_err(|e| format!("{url}: {e:?}"))?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("{url}: status {}", response.status()));
    }
    let expected = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let body = response
        .into_body()
        .bytes()
        .await
        .map_err(|e| format!("{url}: {e:?}"))?;
    match expected {
        Some(length) if length != body.len() => Err(format!(
            "{url}: the body ended after {} of {length} bytes",
            body.len()
        )),
        _ => Ok(body),
    }
}
