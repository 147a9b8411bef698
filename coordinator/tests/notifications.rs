//! Notifications from the change log: an email through a real SMTP server (Python's
//! aiosmtpd, started by the test, writing every message to a maildir) and in-app
//! notifications, listed and live.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onsale_coordinator::notify::{self, Mailer};
use serde_json::{Value, json};

use common::shop::shop;

/// An SMTP server on 127.0.0.1 that keeps what it receives in a maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts one; `None` (the test then skips) where aiosmtpd is not installed, except
    /// in CI (`CI=true`), where that fails the test.
    fn start() -> Option<SmtpServer> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have aiosmtpd (pip install aiosmtpd)"
            );
            eprintln!("skipped: no aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        for folder in ["tmp", "new", "cur"] {
            std::fs::create_dir(maildir.path().join(folder)).unwrap();
        }
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args([
                "-c",
                "aiosmtpd.handlers.Mailbox",
                maildir.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; .ci/run does)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(SmtpServer {
            child,
            port,
            maildir,
        })
    }

    /// Every delivered message, as text with quoted-printable soft line breaks undone.
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|raw| raw.replace("=\r\n", "").replace("=\n", ""))
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} emails arrived",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_hear_of_completed_and_failed_bookings_by_email_and_in_app() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let shop = shop().await;
    let mailer = Mailer::new(
        &format!("smtp://127.0.0.1:{}", smtp.port),
        "onsale <tickets@onsale.test>",
    )
    .unwrap()
    .with_site_url("https://tickets.example.test/");
    let _notifier = notify::spawn(
        shop.s.coordinator.notifications().clone(),
        Some(mailer.clone()),
        Duration::from_millis(50),
    );

    let http = &shop.s.http;
    let url = &shop.s.url;
    let signed_up = http
        .post(format!("{url}/v1/users"))
        .json(&json!({"username": "mailme", "email": "mailme@example.com", "phone": "+15550003333", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);
    let session: Value = http
        .post(format!("{url}/v1/sessions"))
        .json(&json!({"username": "mailme", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();

    // Open the live feed before anything happens.
    let mut live = http
        .get(format!("{url}/v1/me/notifications/live?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    let event = shop.s.create_event("Mailed Show", 1, 1, 4).await;
    let hold = shop.hold(&token, event, &["S0-R0-1"]).await;
    let (_, paid) = shop.checkout(&token, &hold, "k1").await;
    assert_eq!(
        shop.pay(paid["payment_url"].as_str().unwrap(), "succeed")
            .await,
        200
    );

    let first = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while !text.contains("\n\n") {
            let chunk = live.chunk().await.unwrap().expect("stream open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("a live notification within 10 s");
    assert!(first.contains("event: notification"), "{first}");
    assert!(first.contains("booking_completed"), "{first}");

    let hold = shop.hold(&token, event, &["S0-R0-2"]).await;
    let (_, declined) = shop.checkout(&token, &hold, "k2").await;
    assert_eq!(
        shop.pay(declined["payment_url"].as_str().unwrap(), "fail")
            .await,
        200
    );

    let messages = smtp.wait_for(2).await;
    let confirmed = messages
        .iter()
        .find(|m| m.contains("Subject: Your tickets for Mailed Show"))
        .expect("a confirmation email");
    assert!(confirmed.contains("To: mailme@example.com"), "{confirmed}");
    let booking = shop
        .booking(&token, paid["booking_id"].as_str().unwrap())
        .await
        .1;
    let short_code = booking["tickets"][0]["short_code"].as_str().unwrap();
    for words in [
        "Content-Type: text/plain",
        "Content-Type: text/html",
        "Mailed Show",
        "Test Hall, Testville",
        "Mon 1 Mar 2027, 20:00 UTC",
        "Section Section 0, Row R0, Seat 1",
        booking["order_code"].as_str().unwrap(),
        short_code,
        &format!(
            "https://tickets.example.test/bookings/{}",
            paid["booking_id"].as_str().unwrap()
        ),
    ] {
        assert!(confirmed.contains(words), "{words:?} not in {confirmed}");
    }
    let failed = messages
        .iter()
        .find(|m| m.contains("Subject: Your booking for Mailed Show did not go through"))
        .expect("a failure email");
    assert!(failed.contains("the payment was declined"), "{failed}");

    let listed: Vec<Value> = http
        .get(format!("{url}/v1/me/notifications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = listed.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["booking_cancelled", "booking_completed"],
        "newest first"
    );
    let stranger = shop.s.token_for(uuid::Uuid::new_v4());
    let theirs: Vec<Value> = http
        .get(format!("{url}/v1/me/notifications"))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty(), "nobody sees another's notifications");

    // The notifier keeps its place: running it again, to the log's end, sends nothing
    // twice.
    while shop
        .s
        .coordinator
        .notifications()
        .notify_pending(Some(&mailer), 100)
        .await
        .unwrap()
        > 0
    {}
    assert_eq!(smtp.messages().len(), 2);
}
