//! Helpers for tests that run `onsale` as processes, the way an operator does.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The `onsale` binary under test.
pub const ONSALE: &str = env!("CARGO_BIN_EXE_onsale");
/// The operator token every test process shares.
pub const OPERATOR_TOKEN: &str = "op_test_token";

/// A running process, killed when dropped.
pub struct Process {
    child: Child,
    /// The URL the process printed on its first line, or serves on (empty if none).
    pub url: String,
    /// Started as the leader of a process group, which is killed whole.
    group: bool,
    /// Where its output goes, shown when a test fails.
    log: Option<PathBuf>,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            self.show_log();
        }
    }
}

impl Process {
    /// A child started elsewhere, killed when dropped.
    pub fn adopt(child: Child) -> Process {
        Process {
            child,
            url: String::new(),
            group: false,
            log: None,
        }
    }

    /// Stops the process (and its group) now.
    pub fn kill(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process has ended (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Prints the end of the process's log, if it has one.
    pub fn show_log(&self) {
        let Some(log) = &self.log else { return };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        eprintln!("--- last lines of {} ---\n{tail}", log.display());
    }
}

/// Starts `command` as the leader of a new process group (killed whole when dropped, so
/// the children it starts go too), with its output in `log`, serving on `url`.
pub fn spawn_group(command: &mut Command, log: PathBuf, url: String) -> Process {
    let out = std::fs::File::create(&log).expect("create the log file");
    let err = out.try_clone().expect("clone the log file");
    let child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    Process {
        child,
        url,
        group: true,
        log: Some(log),
    }
}

/// Starts `onsale ARGS` and, when `prints_url`, waits for the `http://...` URL it prints
/// as the last word of its first line.
pub fn start(args: &[&str], prints_url: bool) -> Process {
    let mut child = Command::new(ONSALE)
        .args(args)
        .env("ONSALE_OPERATOR_TOKEN", OPERATOR_TOKEN)
        // Tests send many requests from one address at once; the tests of the limits turn
        // them on with `--rate-limits on`.
        .env("ONSALE_RATE_LIMITS", "off")
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
    Process {
        child,
        url,
        group: false,
        log: None,
    }
}

/// `onsale coordinator` on `store`, on a free port.
pub fn start_coordinator(store: &str) -> Process {
    start(
        &["coordinator", "--store", store, "--listen", "127.0.0.1:0"],
        true,
    )
}
