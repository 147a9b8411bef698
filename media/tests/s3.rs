//! `MediaStore` on a real S3-compatible server: moto's server mode, started here on a free
//! port and stopped when the test ends. moto is a test requirement (`pip install
//! 'moto[server]'`): without it this test fails, it never skips.

use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{Attribute, ObjectStore, ObjectStoreExt};
use onsale_media::{CACHE_CONTROL, MediaError, MediaStore, StoredImage};

const BUCKET: &str = "onsale-media-test";

/// A moto server on 127.0.0.1, killed on drop.
struct Moto {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 for the moto S3 server ({e}): install Python 3 and `pip install 'moto[server]'`")
            });
        let mut moto = Moto { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(http(port, "GET", "/"), Ok(200)) {
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!(
                    "the moto S3 server exited ({status}) before answering; install it with \
                     `pip install 'moto[server]'`. Its output:\n{}",
                    moto.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the moto S3 server did not answer on port {port} within 20 s. Its output:\n{}",
                moto.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Connection options for a client of this server (given explicitly, not through the
    /// process environment).
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_access_key_id", "test".into()),
            ("aws_secret_access_key", "test".into()),
            ("aws_region", "us-east-1".into()),
            ("aws_endpoint", format!("http://127.0.0.1:{}", self.port)),
            ("aws_allow_http", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request without a body to the server on `port`; the response's status.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let status = String::from_utf8_lossy(&response);
    let code = status.split(' ').nth(1).and_then(|code| code.parse().ok());
    code.ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {status}")))
}

/// Every key in the bucket, sorted.
async fn keys(bucket: &dyn ObjectStore) -> Vec<String> {
    let mut keys: Vec<String> = (bucket.list(None))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

fn encode(image: DynamicImage, format: ImageFormat) -> Bytes {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner().into()
}

/// Every file of `stored` reads back through `store` and decodes to its stated size.
async fn check_read_back(store: &MediaStore, stored: &StoredImage) {
    for file in stored.variants.iter().chain([&stored.original]) {
        let read = store.get(&file.name).await.unwrap().expect(&file.name);
        assert_eq!(
            (read.content_type, read.bytes.len() as u64),
            (file.content_type, file.bytes)
        );
        let decoded = image::load_from_memory(&read.bytes).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (file.width, file.height)
        );
    }
}

#[tokio::test]
async fn stores_and_reads_back_on_s3() {
    let moto = Moto::start();
    assert_eq!(http(moto.port, "PUT", &format!("/{BUCKET}")).unwrap(), 200);
    let bucket = (moto.options().into_iter())
        .fold(
            AmazonS3Builder::new().with_bucket_name(BUCKET),
            |builder, (key, value)| builder.with_config(key.parse().unwrap(), value),
        )
        .build()
        .unwrap();

    let store = MediaStore::open_with(&format!("s3://{BUCKET}/events"), moto.options()).unwrap();
    assert_eq!(store.describe(), format!("s3://{BUCKET}/events"));

    let photo = RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let jpeg = encode(DynamicImage::ImageRgb8(photo), ImageFormat::Jpeg);
    let stored = store.put_image(jpeg.clone()).await.unwrap();
    let sizes: Vec<_> = stored
        .variants
        .iter()
        .map(|v| (v.width, v.height))
        .collect();
    assert_eq!(sizes, [(320, 240), (640, 480), (1280, 960)]);
    let mut expected: Vec<String> = (stored.variants.iter().chain([&stored.original]))
        .map(|file| format!("events/{}", file.name))
        .collect();
    expected.sort();
    assert_eq!(keys(&bucket).await, expected);
    check_read_back(&store, &stored).await;

    // S3 keeps the headers to serve the files with.
    let original = bucket
        .get(&Path::from(format!("events/{}", stored.original.name)))
        .await
        .unwrap();
    assert_eq!(
        original
            .attributes
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref()),
        Some("image/jpeg")
    );
    assert_eq!(
        original
            .attributes
            .get(&Attribute::CacheControl)
            .map(|v| v.as_ref()),
        Some(CACHE_CONTROL)
    );

    assert_eq!(store.put_image(jpeg.clone()).await.unwrap(), stored);
    assert_eq!(keys(&bucket).await, expected);

    let logo = RgbaImage::from_fn(700, 300, |x, _| image::Rgba([200, 30, 30, (x % 256) as u8]));
    let png = store
        .put_image(encode(DynamicImage::ImageRgba8(logo), ImageFormat::Png))
        .await
        .unwrap();
    assert!(png.variants.iter().all(|v| v.content_type == "image/png"));
    check_read_back(&store, &png).await;
    let stored_keys = keys(&bucket).await;
    assert_eq!(stored_keys.len(), 4 + 3);

    // Refused uploads store nothing.
    let truncated = store.put_image(jpeg.slice(..jpeg.len() / 3)).await;
    assert!(
        matches!(truncated, Err(MediaError::Undecodable(_))),
        "{truncated:?}"
    );
    let text = store
        .put_image(Bytes::from_static(b"<html>not an image</html>"))
        .await;
    assert!(
        matches!(text, Err(MediaError::UnsupportedFormat { found: None })),
        "{text:?}"
    );
    assert_eq!(keys(&bucket).await, stored_keys);

    // Missing and malformed names are not found.
    let missing = stored.original.name.replace("original.jpg", "original.png");
    assert_eq!(store.get(&missing).await.unwrap(), None);
    assert_eq!(store.get("../events/x").await.unwrap(), None);
    drop(moto);
}
