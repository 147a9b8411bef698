//! The pages' script (`assets/onsale.js`: header, account box, live seat map,
//! waiting-room, booking and My tickets pages), stylesheet (`assets/onsale.css`) and icon
//! (`assets/favicon.svg`), each served under a name that carries a hash of
//! its bytes so browsers and CDNs may keep it for a year: a new build with a changed file
//! links a new name.

use std::sync::LazyLock;

use crate::http::{EdgeResponse, fnv1a};

const SCRIPT: &str = include_str!("../assets/onsale.js");
const STYLESHEET: &str = include_str!("../assets/onsale.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// `/static/onsale.{hash}.js`.
static SCRIPT_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/onsale.{:016x}.js", fnv1a(SCRIPT.as_bytes())));

/// `/static/onsale.{hash}.css`.
static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/onsale.{:016x}.css", fnv1a(STYLESHEET.as_bytes())));

/// `/static/favicon.{hash}.svg`.
static FAVICON_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/favicon.{:016x}.svg", fnv1a(FAVICON.as_bytes())));

/// Where pages load the script from.
pub(crate) fn script_path() -> &'static str {
    &SCRIPT_PATH
}

/// Where pages load the stylesheet from.
pub(crate) fn stylesheet_path() -> &'static str {
    &STYLESHEET_PATH
}

/// Where pages link the site's icon from.
pub(crate) fn favicon_path() -> &'static str {
    &FAVICON_PATH
}

/// The script, the stylesheet or the icon, if `path` names this build's copy of one.
pub(crate) fn asset(path: &str) -> Option<EdgeResponse> {
    let (content_type, body) = if path == script_path() {
        ("text/javascript; charset=utf-8", SCRIPT)
    } else if path == stylesheet_path() {
        ("text/css; charset=utf-8", STYLESHEET)
    } else if path == favicon_path() {
        ("image/svg+xml", FAVICON)
    } else {
        return None;
    };
    let mut response = EdgeResponse::new(200, content_type, body);
    response.headers.push((
        "cache-control".into(),
        "public, max-age=31536000, immutable".into(),
    ));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_files_only_under_their_hashed_names() {
        let script = asset(script_path()).expect("the script");
        assert_eq!(script.status, 200);
        assert!(
            script
                .header("cache-control")
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(script.body.as_ref(), SCRIPT.as_bytes());
        let stylesheet = asset(stylesheet_path()).expect("the stylesheet");
        assert_eq!(
            stylesheet.header("content-type"),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(stylesheet.body.as_ref(), STYLESHEET.as_bytes());
        let icon = asset(favicon_path()).expect("the icon");
        assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
        assert!(asset("/static/onsale.0000000000000000.js").is_none());
        assert!(asset("/static/onsale.0000000000000000.css").is_none());
        assert!(script_path().starts_with("/static/onsale.") && script_path().ends_with(".js"));
        assert!(stylesheet_path().ends_with(".css"));
    }
}
