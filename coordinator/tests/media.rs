//! Event images over real HTTP on a folder media store: an upload checked by its content,
//! stored with its resized variants, served immutable, and the event pointed at it; bad
//! uploads refused with a reason and nothing stored.

mod common;

use std::io::Cursor;

use serde_json::{Value, json};

use common::TestServer;

/// A `width` x `height` PNG with a gradient.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

async fn upload(s: &TestServer, token: &str, event: u64, body: Vec<u8>) -> (u16, Value) {
    let response = s
        .http
        .put(format!("{}/v1/operator/events/{event}/image", s.url))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every file under `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_image_is_stored_resized_and_served_immutable() {
    let folder = tempfile::tempdir().unwrap();
    let media = onsale_media::MediaStore::open(folder.path().to_str().unwrap()).unwrap();
    let s = common::serve_with(common::fjall_store().await, |coordinator, _| {
        coordinator.with_media(media)
    })
    .await;
    let event = s.create_event("Pictured", 1, 1, 2).await;

    // Refused, with a reason, storing nothing.
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0u8; 64]);
    let oversized = vec![0u8; 10 * 1024 * 1024 + 1];
    let mut truncated = png(800, 400);
    truncated.truncate(truncated.len() / 2);
    for (body, status, code) in [
        (gif, 415, "unsupported_image"),
        (b"<svg></svg>".to_vec(), 415, "unsupported_image"),
        (oversized, 413, "image_too_large"),
        (truncated, 422, "image_unreadable"),
    ] {
        let (got, answer) = upload(&s, &s.operator(), event, body).await;
        assert_eq!(
            (got, &answer["error"]["code"]),
            (status, &json!(code)),
            "{answer}"
        );
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (got, _) = upload(&s, &s.operator(), event + 100, png(400, 200)).await;
    assert_eq!(got, 404, "no such event");
    assert!(files(folder.path()).is_empty(), "nothing stored");

    let (_, key) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "door", "role": "staff"}),
        )
        .await;
    let staff = key["secret"].as_str().unwrap();
    assert_eq!(upload(&s, staff, event, png(400, 200)).await.0, 403);

    let (status, stored) = upload(&s, &s.operator(), event, png(1600, 900)).await;
    assert_eq!(status, 200, "{stored}");
    let image_url = stored["image_url"].as_str().unwrap();
    assert!(image_url.starts_with("/media/images/") && image_url.ends_with("/1280.jpg"));
    let widths: Vec<u64> = stored["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["width"].as_u64().unwrap())
        .collect();
    assert_eq!(
        widths,
        [1600, 320, 640, 1280],
        "the original, then the variants"
    );
    assert_eq!(files(folder.path()).len(), 4);

    let (_, event_now) = s
        .get_json(&s.operator(), &format!("/v1/events/{event}"))
        .await;
    assert_eq!(event_now["image_url"], image_url);

    let served = s
        .http
        .get(format!("{}{image_url}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bytes = served.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1280, 720));
    for bad in ["/media/images/../../etc/passwd", "/media/nothing.jpg"] {
        let status = s
            .http
            .get(format!("{}{bad}", s.url))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{bad}");
    }

    let (_, audit) = s.get_json(&s.operator(), "/v1/operator/audit").await;
    assert_eq!(audit[0]["action"], "event.image");
    assert_eq!(audit[0]["detail"], image_url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_media_store_uploads_say_so() {
    let s = common::serve(common::fjall_store().await).await;
    let event = s.create_event("Unpictured", 1, 1, 2).await;
    let (status, answer) = upload(&s, &s.operator(), event, png(400, 200)).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (503, &json!("unavailable"))
    );
}
