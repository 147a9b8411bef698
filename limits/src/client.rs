//! The client's address: the socket's peer, or what a trusted edge says it is.

use std::fmt;
use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header in which an edge tells the coordinator its client's address.
pub const CLIENT_IP_HEADER: &str = "x-onsale-client-ip";
/// The header in which an edge proves itself with the shared secret.
pub const EDGE_SECRET_HEADER: &str = "x-onsale-edge-secret";

/// The address a request came from, as resolved by [`ClientAddressPolicy`]; the layer
/// puts it in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// Whom the `X-Onsale-Client-Ip` header is believed from: peers in the trusted networks,
/// or requests carrying the shared edge secret. From anyone else it is ignored.
#[derive(Clone, Default)]
pub struct ClientAddressPolicy {
    trusted: Vec<IpNet>,
    edge_secret: Option<String>,
}

impl fmt::Debug for ClientAddressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAddressPolicy")
            .field("trusted", &self.trusted)
            .field("edge_secret", &self.edge_secret.as_ref().map(|_| ".."))
            .finish()
    }
}

impl ClientAddressPolicy {
    /// Believes the header from `trusted` networks, and from requests with `edge_secret`.
    pub fn new(trusted: Vec<IpNet>, edge_secret: Option<String>) -> Self {
        ClientAddressPolicy {
            trusted,
            edge_secret: edge_secret.filter(|s| !s.is_empty()),
        }
    }

    /// Parses a trusted proxy: a network (`10.0.0.0/8`, `fd00::/8`) or one address.
    pub fn parse_network(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{text:?} is not an address or a network like 10.0.0.0/8"))
    }

    /// The shared secret an edge sends, if one is set.
    pub fn edge_secret(&self) -> Option<&str> {
        self.edge_secret.as_deref()
    }

    /// The client's address: the header's when `peer` is trusted or the request carries
    /// the edge secret (and the header is an address), else `peer`'s.
    pub fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let forwarded = headers
            .get(CLIENT_IP_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        match forwarded {
            Some(client) if self.trusts(peer, headers) => Some(client),
            _ => peer,
        }
    }

    fn trusts(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        let from_trusted = peer.is_some_and(|peer| {
            let peer = canonical(peer);
            self.trusted.iter().any(|net| net.contains(&peer))
        });
        let with_secret = self.edge_secret.as_deref().is_some_and(|secret| {
            headers
                .get(EDGE_SECRET_HEADER)
                .is_some_and(|sent| constant_time_eq(sent.as_bytes(), secret.as_bytes()))
        });
        from_trusted || with_secret
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so `127.0.0.1` matches on a dual-stack socket.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Compares in time that depends on the lengths only, never on where bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_header_counts_only_from_trusted_peers_or_with_the_secret() {
        let policy = ClientAddressPolicy::new(
            vec![ClientAddressPolicy::parse_network("10.0.0.0/8").unwrap()],
            Some("s3cret".into()),
        );
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let edge: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        let forwarded = headers(&[(CLIENT_IP_HEADER, "203.0.113.9")]);
        assert_eq!(policy.resolve(Some(edge), &forwarded), Some(client));
        assert_eq!(policy.resolve(Some(stranger), &forwarded), Some(stranger));
        let with_secret = headers(&[
            (CLIENT_IP_HEADER, "203.0.113.9"),
            (EDGE_SECRET_HEADER, "s3cret"),
        ]);
        assert_eq!(policy.resolve(Some(stranger), &with_secret), Some(client));
        let wrong_secret = headers(&[
            (CLIENT_IP_HEADER, "203.0.113.9"),
            (EDGE_SECRET_HEADER, "s3creT"),
        ]);
        assert_eq!(
            policy.resolve(Some(stranger), &wrong_secret),
            Some(stranger)
        );
        let garbage = headers(&[(CLIENT_IP_HEADER, "not an address")]);
        assert_eq!(policy.resolve(Some(edge), &garbage), Some(edge));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(policy.resolve(Some(mapped), &forwarded), Some(client));
    }

    #[test]
    fn nothing_is_trusted_by_default() {
        let forwarded = headers(&[(CLIENT_IP_HEADER, "203.0.113.9")]);
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let policy = ClientAddressPolicy::default();
        assert_eq!(policy.resolve(Some(peer), &forwarded), Some(peer));
        assert!(ClientAddressPolicy::parse_network("nope").is_err());
        assert!(ClientAddressPolicy::parse_network("::1").is_ok());
    }

    #[test]
    fn secret_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
    }
}
