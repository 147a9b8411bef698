//! How much a server lets its clients hold: open connections and how long a connection may
//! stay quiet.

use std::time::Duration;

/// File descriptors kept free for everything a server opens besides its connections (its
/// store, its log, outgoing HTTP, the listener itself).
const RESERVED_FDS: u64 = 256;

/// The limits one server enforces on its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; one more is accepted and closed at once.
    pub max_connections: usize,
    /// How long a client has to send a request's headers: from the connection's start for
    /// the first request (TLS handshake included), and on HTTP/1.1 from the moment the
    /// server waits for the next one.
    pub header_timeout: Duration,
    /// How long a connection with no request in flight stays open.
    pub idle_timeout: Duration,
    /// How long requests in flight may take to finish once shutdown has begun.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// `max_connections`, lowered so that the connections fit in the process's open-file
    /// limit with room to spare: a server at its cap refuses connections instead of
    /// failing to open files it needs (or to accept at all).
    pub fn connection_cap(&self) -> usize {
        match open_file_limit() {
            Some(limit) => {
                let room = limit.saturating_sub(RESERVED_FDS).max(limit / 2);
                self.max_connections
                    .min(usize::try_from(room).unwrap_or(usize::MAX))
                    .max(1)
            }
            None => self.max_connections.max(1),
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process, if it has one.
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct it is given.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (status == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Raises this process's soft open-file limit to its hard limit (Linux's default soft
/// limit, 1,024, is far below what a server with thousands of clients needs); returns the
/// soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct it is given; setrlimit reads one.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_in_the_open_file_limit() {
        let limits = Limits {
            max_connections: usize::MAX,
            ..Limits::default()
        };
        let cap = limits.connection_cap() as u64;
        if let Some(limit) = open_file_limit() {
            assert!(cap < limit, "cap {cap} with {limit} files");
        }
        let small = Limits {
            max_connections: 3,
            ..Limits::default()
        };
        assert_eq!(small.connection_cap(), 3);
    }
}
