//! The files the site's pages load, for both the buyer site (served by the edge) and the
//! operator console (served by the coordinator): one script (`assets/onsale.js`: the
//! buyer pages, and the seat-map drawing the console's preview reuses), the console's
//! script (`assets/console.js`), one stylesheet (`assets/onsale.css`) and the icon
//! (`assets/favicon.svg`). Each is served under a name that carries a hash of its bytes,
//! so browsers and CDNs may keep it for a year: a new build with a changed file links a
//! new name. No dependencies, so it builds for every edge target.

use std::sync::LazyLock;

/// A file's bytes and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

/// `Cache-Control` of every file served under its hashed name.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The files: stem, extension, type, text.
const FILES: [(&str, &str, &str, &str); 4] = [
    (
        "onsale",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/onsale.js"),
    ),
    (
        "console",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    ),
    (
        "onsale",
        "css",
        "text/css; charset=utf-8",
        include_str!("../assets/onsale.css"),
    ),
    (
        "favicon",
        "svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

/// Each file's path, `/static/{stem}.{hash}.{extension}`, in the order of `FILES`.
static PATHS: LazyLock<[String; 4]> = LazyLock::new(|| {
    FILES.map(|(stem, extension, _, body)| {
        format!("/static/{stem}.{:016x}.{extension}", fnv1a(body.as_bytes()))
    })
});

/// Where pages load the buyer site's script from (it also draws the console's seat-map
/// preview).
pub fn script_path() -> &'static str {
    &PATHS[0]
}

/// Where the operator console's pages load their script from.
pub fn console_script_path() -> &'static str {
    &PATHS[1]
}

/// Where pages load the stylesheet from.
pub fn stylesheet_path() -> &'static str {
    &PATHS[2]
}

/// Where pages link the site's icon from.
pub fn favicon_path() -> &'static str {
    &PATHS[3]
}

/// The file `path` names, if it names this build's copy of one.
pub fn asset(path: &str) -> Option<Asset> {
    let index = PATHS.iter().position(|known| known == path)?;
    let (_, _, content_type, body) = FILES[index];
    Some(Asset { content_type, body })
}

/// FNV-1a, 64 bits: a fast, stable content hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_files_only_under_their_hashed_names() {
        let script = asset(script_path()).expect("the script");
        assert_eq!(script.body, FILES[0].3);
        assert!(script.content_type.starts_with("text/javascript"));
        let console = asset(console_script_path()).expect("the console's script");
        assert_eq!(console.body, FILES[1].3);
        let stylesheet = asset(stylesheet_path()).expect("the stylesheet");
        assert_eq!(stylesheet.content_type, "text/css; charset=utf-8");
        let icon = asset(favicon_path()).expect("the icon");
        assert_eq!(icon.content_type, "image/svg+xml");
        assert!(asset("/static/onsale.0000000000000000.js").is_none());
        assert!(asset("/static/onsale.0000000000000000.css").is_none());
        assert!(script_path().starts_with("/static/onsale.") && script_path().ends_with(".js"));
        assert!(console_script_path().starts_with("/static/console."));
        assert!(stylesheet_path().ends_with(".css"));
    }
}
