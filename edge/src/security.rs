//! Headers that tell browsers what the site's pages may do: only the site's own script
//! and stylesheet run, connections go only to the site and the live-feed URL, no other
//! site may frame a page, and no response is sniffed into another type.

use crate::http::EdgeResponse;

/// The `Content-Security-Policy` of the HTML pages, allowing connections to the origin of
/// `live` (the coordinator's URL for live feeds) and its WebSocket form as well as the
/// site's own. Images may come from anywhere over HTTPS (events' pictures) and from
/// `data:` URLs (tickets' QR codes).
pub(crate) fn content_security_policy(live: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(origin) = live.and_then(origin) {
        let socket = origin
            .strip_prefix("https://")
            .map(|host| format!("wss://{host}"))
            .or_else(|| {
                origin
                    .strip_prefix("http://")
                    .map(|host| format!("ws://{host}"))
            });
        connect.push(' ');
        connect.push_str(&origin);
        if let Some(socket) = socket {
            connect.push(' ');
            connect.push_str(&socket);
        }
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
         connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an `http(s)` URL, if it is one a policy can name.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!host.is_empty() && host.chars().all(allowed)).then(|| format!("{scheme}://{host}"))
}

/// Adds the headers every answer of the edge's own carries, and on HTML pages the policy
/// `csp`, the referrer policy and the framing ban.
pub(crate) fn protect(response: &mut EdgeResponse, csp: &str) {
    let html = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    response
        .headers
        .push(("x-content-type-options".into(), "nosniff".into()));
    if html {
        response
            .headers
            .push(("content-security-policy".into(), csp.into()));
        response
            .headers
            .push(("referrer-policy".into(), "same-origin".into()));
        response
            .headers
            .push(("x-frame-options".into(), "DENY".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_live_origin_and_its_socket() {
        let policy = content_security_policy(Some("https://api.example.com/base"));
        assert!(
            policy.contains("connect-src 'self' https://api.example.com wss://api.example.com;")
        );
        assert!(policy.contains("script-src 'self';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        let local = content_security_policy(Some("http://127.0.0.1:8081"));
        assert!(local.contains("connect-src 'self' http://127.0.0.1:8081 ws://127.0.0.1:8081;"));
        let none = content_security_policy(None);
        assert!(none.contains("connect-src 'self';"));
        let odd = content_security_policy(Some("https://a.example; script-src *"));
        assert!(odd.contains("connect-src 'self';"), "{odd}");
    }

    #[test]
    fn pages_get_the_policy_and_everything_nosniff() {
        let mut page = EdgeResponse::html(200, "<p>hi</p>".into());
        protect(&mut page, "default-src 'none'");
        assert_eq!(
            page.header("content-security-policy"),
            Some("default-src 'none'")
        );
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
        let mut json = EdgeResponse::text(200, "{}");
        protect(&mut json, "default-src 'none'");
        assert_eq!(json.header("content-security-policy"), None);
        assert_eq!(json.header("x-content-type-options"), Some("nosniff"));
    }
}
