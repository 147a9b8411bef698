//! `MediaStore` on a local folder: real images made here, stored, read back and decoded;
//! every refusal leaves the folder empty.

use std::io::Cursor;
use std::path::Path;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, ImageFormat, RgbImage, RgbaImage};
use onsale_media::{MAX_IMAGE_BYTES, MediaError, MediaStore, StoredFile, StoredImage};

/// A 2000 × 1000 PNG whose alpha fades from opaque to transparent.
fn png_with_alpha() -> Bytes {
    let image = RgbaImage::from_fn(2000, 1000, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            128,
            (x * 255 / 1999) as u8,
        ])
    });
    encode(DynamicImage::ImageRgba8(image), ImageFormat::Png)
}

fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x / 8 % 256) as u8,
            (y / 8 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn jpeg(width: u32, height: u32, exif: Option<Vec<u8>>) -> Bytes {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    DynamicImage::ImageRgb8(photo(width, height))
        .write_with_encoder(encoder)
        .unwrap();
    out.into()
}

fn webp_lossless(width: u32, height: u32) -> Bytes {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(photo(width, height))
        .write_with_encoder(WebPEncoder::new_lossless(&mut out))
        .unwrap();
    out.into()
}

fn encode(image: DynamicImage, format: ImageFormat) -> Bytes {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner().into()
}

/// An EXIF block (TIFF, big-endian) holding only Orientation = 6: "rotate 90° to show".
fn exif_rotate_90() -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff
}

/// A PNG that is only a header claiming `width` × `height` pixels, and a scrap of data.
fn png_header(width: u32, height: u32, color_type: u8) -> Bytes {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out.into()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path.display().to_string());
        }
    }
    files
}

fn sizes(files: &[StoredFile]) -> Vec<(u32, u32)> {
    files.iter().map(|file| (file.width, file.height)).collect()
}

/// Every file of `stored` reads back with its content type and decodes to its stated size.
async fn check_read_back(store: &MediaStore, stored: &StoredImage) {
    for file in stored.variants.iter().chain([&stored.original]) {
        let read = store.get(&file.name).await.unwrap().expect(&file.name);
        assert_eq!(read.content_type, file.content_type, "{}", file.name);
        assert_eq!(read.bytes.len() as u64, file.bytes, "{}", file.name);
        let format = image::guess_format(&read.bytes).unwrap();
        assert_eq!(format.to_mime_type(), file.content_type, "{}", file.name);
        let mut decoded = image::load_from_memory(&read.bytes).unwrap();
        if file.name.ends_with("/original.jpg") {
            let mut decoder = image::ImageReader::new(Cursor::new(&read.bytes))
                .with_guessed_format()
                .unwrap()
                .into_decoder()
                .unwrap();
            decoded.apply_orientation(image::ImageDecoder::orientation(&mut decoder).unwrap());
        }
        assert_eq!(
            (decoded.width(), decoded.height()),
            (file.width, file.height),
            "{}",
            file.name
        );
    }
}

#[tokio::test]
async fn stores_variants_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::open(dir.path().to_str().unwrap()).unwrap();
    assert!(
        store.describe().starts_with("folder /"),
        "{}",
        store.describe()
    );

    let png = store.put_image(png_with_alpha()).await.unwrap();
    assert_eq!(png.hash.len(), 32);
    assert_eq!(
        png.original.name,
        format!("images/{}/original.png", png.hash)
    );
    assert_eq!((png.original.width, png.original.height), (2000, 1000));
    assert_eq!(sizes(&png.variants), [(320, 160), (640, 320), (1280, 640)]);
    for variant in &png.variants {
        assert_eq!(variant.content_type, "image/png");
        assert_eq!(
            variant.name,
            format!("images/{}/{}.png", png.hash, variant.width)
        );
        let read = store.get(&variant.name).await.unwrap().unwrap();
        assert!(
            image::load_from_memory(&read.bytes)
                .unwrap()
                .color()
                .has_alpha()
        );
    }
    assert_eq!(png.main().width, 1280);
    check_read_back(&store, &png).await;

    let jpg = store.put_image(jpeg(2000, 1500, None)).await.unwrap();
    assert_eq!(jpg.original.content_type, "image/jpeg");
    assert_eq!(sizes(&jpg.variants), [(320, 240), (640, 480), (1280, 960)]);
    assert!(jpg.variants.iter().all(|v| v.name.ends_with(".jpg")));
    assert_eq!(jpg.for_width(500).width, 640);
    check_read_back(&store, &jpg).await;

    let webp = store.put_image(webp_lossless(1000, 800)).await.unwrap();
    assert_eq!(
        webp.original.name,
        format!("images/{}/original.webp", webp.hash)
    );
    assert_eq!(webp.original.content_type, "image/webp");
    assert_eq!(sizes(&webp.variants), [(320, 256), (640, 512)]);
    assert_eq!(webp.main().width, 640);
    check_read_back(&store, &webp).await;

    let narrow = store.put_image(jpeg(500, 400, None)).await.unwrap();
    assert_eq!(sizes(&narrow.variants), [(320, 256)]);
    check_read_back(&store, &narrow).await;

    let tiny = store.put_image(jpeg(320, 200, None)).await.unwrap();
    assert!(tiny.variants.is_empty());
    assert_eq!(tiny.main(), &tiny.original);

    // Shown rotated: variants follow the EXIF orientation, as browsers show the original.
    let rotated = store
        .put_image(jpeg(2000, 1500, Some(exif_rotate_90())))
        .await
        .unwrap();
    assert_eq!(
        (rotated.original.width, rotated.original.height),
        (1500, 2000)
    );
    assert_eq!(
        sizes(&rotated.variants),
        [(320, 427), (640, 853), (1280, 1707)]
    );
    check_read_back(&store, &rotated).await;

    let files = files_under(dir.path());
    assert_eq!(files.len(), 4 + 4 + 3 + 2 + 1 + 4, "{files:#?}");
}

#[tokio::test]
async fn the_same_bytes_twice_get_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        MediaStore::open(&format!("file://{}", dir.path().join("media").display())).unwrap();
    let bytes = jpeg(1500, 1000, None);
    let first = store.put_image(bytes.clone()).await.unwrap();
    let second = store.put_image(bytes.clone()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(files_under(dir.path()).len(), 4);

    // A variant gone missing is made again.
    let missing = dir.path().join("media").join(&first.variants[1].name);
    std::fs::remove_file(&missing).unwrap();
    assert_eq!(store.put_image(bytes).await.unwrap(), first);
    assert!(missing.exists());
}

#[tokio::test]
async fn refused_uploads_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::open(dir.path().to_str().unwrap()).unwrap();
    let png = png_with_alpha();
    // A 1 × 1 GIF: the `image` build here has no GIF encoder, as GIF is never accepted.
    let gif = Bytes::from_static(
        b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;",
    );
    let mut too_large = png.to_vec();
    too_large.resize(MAX_IMAGE_BYTES + 1, 0);

    let jpeg = jpeg(800, 600, None);
    let webp = webp_lossless(800, 600);
    let cases: [(&str, Bytes, &str); 9] = [
        (
            "gif",
            gif,
            "the image is in GIF format; send a JPEG, PNG or WebP image",
        ),
        (
            "text named .png",
            Bytes::from_static(b"name,seat\nada,A1\n"),
            "this file is not an image; send a JPEG, PNG or WebP image",
        ),
        (
            "truncated png",
            png.slice(..png.len() / 2),
            "damaged or cut short",
        ),
        (
            "truncated jpeg",
            jpeg.slice(..jpeg.len() / 2),
            "the JPEG file is cut short",
        ),
        (
            "truncated webp",
            webp.slice(..webp.len() / 2),
            "damaged or cut short",
        ),
        ("empty", Bytes::new(), "this file is not an image"),
        (
            "over 10 MB",
            too_large.into(),
            "the image is 10.1 MB; the limit is 10 MB",
        ),
        (
            "100000 x 100000 png",
            png_header(100_000, 100_000, 2),
            "it is 100000 × 100000 pixels; at most 12000 pixels per side",
        ),
        (
            "9000 x 9000 rgba png",
            png_header(9_000, 9_000, 6),
            "need 309 MB of memory; the limit is 256 MB",
        ),
    ];
    for (case, bytes, message) in cases {
        let error = store.put_image(bytes).await.expect_err(case);
        assert!(error.is_client_error(), "{case}: {error:?}");
        assert!(error.to_string().contains(message), "{case}: {error}");
        assert_eq!(files_under(dir.path()), Vec::<String>::new(), "{case}");
    }
    let truncated = store.put_image(png.slice(..png.len() / 2)).await;
    assert!(matches!(truncated, Err(MediaError::Undecodable(_))));
}

#[tokio::test]
async fn only_names_it_writes_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.jpg"), b"not for you").unwrap();
    let store = MediaStore::open(dir.path().join("media").to_str().unwrap()).unwrap();
    let stored = store.put_image(jpeg(800, 600, None)).await.unwrap();
    let hash = &stored.hash;
    for name in [
        "../etc/passwd".to_owned(),
        "../secret.jpg".to_owned(),
        format!("images/{hash}/../../../secret.jpg"),
        format!("images/{hash}/%2E%2E/%2E%2E/%2E%2E/secret.jpg"),
        format!("images/{hash}"),
        format!("images/{hash}/"),
        "images/".to_owned(),
        String::new(),
        format!("/images/{hash}/original.jpg"),
        format!("images/{}/original.jpg", "0".repeat(32)),
        format!("images/{hash}/1280.jpg"),
    ] {
        assert_eq!(store.get(&name).await.unwrap(), None, "{name}");
    }
    let original = store.get(&stored.original.name).await.unwrap().unwrap();
    assert_eq!(original.content_type, "image/jpeg");
}
