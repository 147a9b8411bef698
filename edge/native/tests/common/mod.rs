//! What the edge's tests share.

#![allow(dead_code)] // each test binary uses a different part of this module

use onsale_model::Event;

/// A catalogue event numbered `id`, starting `id` hours after the epoch.
pub fn event(id: u64) -> Event {
    Event {
        id,
        name: format!("Event number {id}"),
        category: "concert".into(),
        description: "An evening of music with a description long enough to weigh something."
            .into(),
        performers: vec![format!("Performer {id}")],
        venue: "Hall".into(),
        city: "Town".into(),
        starts_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::hours(id as i64),
        image_url: "/static/demo/concert.svg".into(),
        currency: "EUR".into(),
        price_min: 100,
        price_max: 200,
        seat_count: 10,
        waiting_room: false,
        time_zone: "UTC".into(),
        time_zone_abbreviation: "UTC".into(),
        max_seats_per_account: onsale_model::DEFAULT_MAX_SEATS_PER_ACCOUNT,
        published: true,
    }
}

/// Serves a published snapshot folder over HTTP as the indexer does (`onsale index
/// --listen`), on a free port: its base URL, and the server's task (abort it to stop).
pub async fn serve_folder(folder: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = onsale_indexer::serve::snapshot_router(folder.to_path_buf());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serving");
    });
    (base, server)
}
