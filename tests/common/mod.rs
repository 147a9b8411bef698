//! Helpers for tests that run `onsale` as processes, the way an operator does.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The `onsale` binary under test.
pub const ONSALE: &str = env!("CARGO_BIN_EXE_onsale");
/// The operator token every test process shares.
pub const OPERATOR_TOKEN: &str = "op_test_token";

/// A running `onsale` process, killed when dropped.
pub struct Process {
    child: Child,
    /// The URL the process printed on its first line (empty if it prints none).
    pub url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Stops the process now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `onsale ARGS` and, when `prints_url`, waits for the `http://...` URL it prints
/// as the last word of its first line.
pub fn start(args: &[&str], prints_url: bool) -> Process {
    let mut child = Command::new(ONSALE)
        .args(args)
        .env("ONSALE_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start onsale");
    let mut url = String::new();
    if prints_url {
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the first line");
        // Keep reading, so that later lines never meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
    }
    Process { child, url }
}

/// `onsale coordinator` on `store`, on a free port.
pub fn start_coordinator(store: &str) -> Process {
    start(
        &["coordinator", "--store", store, "--listen", "127.0.0.1:0"],
        true,
    )
}
