//! The flags every server command shares: connection limits and TLS.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use onsale_server::{Limits, Settings, Tls};

use crate::duration::parse_duration;

/// Connection limits (`onsale_server::Limits`).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionFlags {
    /// Connections open at once (lowered to fit the open-file limit); one more is
    /// accepted and closed at once.
    #[arg(long, env = "ONSALE_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// How long a client has to send a request's headers (and a TLS handshake).
    #[arg(long, env = "ONSALE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// How long a connection with no request in flight stays open.
    #[arg(long, env = "ONSALE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// How long requests in flight may take to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "ONSALE_DRAIN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    drain_timeout: Duration,
}

impl ConnectionFlags {
    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            drain_timeout: self.drain_timeout,
        }
    }

    /// Plain HTTP with these limits.
    pub fn plain(&self, name: &'static str) -> Settings {
        Settings {
            name,
            limits: self.limits(),
            tls: None,
        }
    }
}

/// TLS for a server that faces clients directly.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsFlags {
    /// PEM certificate chain (leaf first): serve HTTPS (HTTP/2 and HTTP/1.1) with it.
    #[arg(long, env = "ONSALE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(
        long,
        env = "ONSALE_TLS_KEY",
        requires = "tls_cert",
        hide_env_values = true
    )]
    tls_key: Option<PathBuf>,
}

impl TlsFlags {
    /// Settings with `limits`, and TLS if a certificate was given.
    pub fn settings(
        &self,
        name: &'static str,
        limits: &ConnectionFlags,
    ) -> anyhow::Result<Settings> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                Some(Tls::from_pem_files(cert, key).context("setting up TLS")?)
            }
            _ => None,
        };
        Ok(Settings {
            tls,
            ..limits.plain(name)
        })
    }
}
