//! Live feeds passed through to the coordinator as streams: a server-sent events answer
//! goes on chunk by chunk as the coordinator sends it, and a WebSocket upgrade is made
//! with the coordinator first, then with the client, and the two connections are joined
//! byte for byte. So pages open their live feeds on the site's own origin.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use onsale_edge::EdgeResponse;
use onsale_edge::http::is_hop_by_hop;
use onsale_model::{ApiError, ErrorCode};

use crate::HttpUpstream;

/// Passes `request` (a live feed, [`onsale_edge::is_live_feed`]) to the coordinator and
/// its answer back as it comes.
pub(crate) async fn pass_through(upstream: &HttpUpstream, mut request: Request) -> Response {
    let upgrade = wants_websocket(request.headers());
    let client_side = upgrade.then(|| hyper::upgrade::on(&mut request));
    let mut outgoing = upstream.streaming.request(
        request.method().clone(),
        format!(
            "{}{}",
            upstream.base,
            request.uri().path_and_query().map_or("/", |p| p.as_str())
        ),
    );
    for (name, value) in request.headers() {
        if !is_hop_by_hop(name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    if upgrade {
        outgoing = outgoing
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket");
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return error_response(&ApiError::new(
                ErrorCode::Unavailable,
                format!("the booking service is unreachable ({error}); retry in a moment"),
            ));
        }
    };
    let status = answer.status();
    let mut response = Response::builder().status(status);
    for (name, value) in answer.headers() {
        let switching = status == StatusCode::SWITCHING_PROTOCOLS
            && (name == header::CONNECTION || name == header::UPGRADE);
        if switching || !is_hop_by_hop(name.as_str()) {
            response = response.header(name, value);
        }
    }
    let body = match client_side {
        Some(client_side) if status == StatusCode::SWITCHING_PROTOCOLS => {
            tokio::spawn(join(client_side, answer));
            Body::empty()
        }
        _ => Body::from_stream(answer.bytes_stream()),
    };
    response.body(body).unwrap_or_else(|error| {
        error_response(&ApiError::new(
            ErrorCode::BadGateway,
            format!("the booking service's answer could not be passed on ({error})"),
        ))
    })
}

/// Whether the request asks to switch to a WebSocket.
fn wants_websocket(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .unwrap_or_default()
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// Joins the client's upgraded connection to the coordinator's until either ends.
async fn join(client_side: hyper::upgrade::OnUpgrade, coordinator: reqwest::Response) {
    let (client, coordinator) = tokio::join!(client_side, coordinator.upgrade());
    match (client, coordinator) {
        (Ok(client), Ok(mut coordinator)) => {
            let mut client = TokioIo::new(client);
            match tokio::io::copy_bidirectional(&mut client, &mut coordinator).await {
                Ok((up, down)) => tracing::debug!(up, down, "live socket closed"),
                Err(error) => tracing::debug!(%error, "live socket ended"),
            }
        }
        (Err(error), _) => tracing::debug!(%error, "the client's upgrade failed"),
        (_, Err(error)) => tracing::warn!(%error, "the coordinator's upgrade failed"),
    }
}

fn error_response(error: &ApiError) -> Response {
    EdgeResponse::json_error(error).into_http().map(Body::from)
}
