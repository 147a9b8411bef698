//! The pages' script (`assets/onsale.js`: account box, live seat map, waiting-room page),
//! served under a name that carries a hash of its bytes so browsers and CDNs may keep it
//! for a year: a new build with a changed script links a new name.

use std::sync::LazyLock;

use crate::http::{EdgeResponse, fnv1a};

const SCRIPT: &str = include_str!("../assets/onsale.js");

/// `/static/onsale.{hash}.js`.
static SCRIPT_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/onsale.{:016x}.js", fnv1a(SCRIPT.as_bytes())));

/// Where pages load the script from.
pub(crate) fn script_path() -> &'static str {
    &SCRIPT_PATH
}

/// The script, if `path` names this build's copy of it.
pub(crate) fn script(path: &str) -> Option<EdgeResponse> {
    if path != script_path() {
        return None;
    }
    let mut response = EdgeResponse::new(200, "text/javascript; charset=utf-8", SCRIPT);
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
    fn serves_the_script_only_under_its_hashed_name() {
        let served = script(script_path()).expect("the script");
        assert_eq!(served.status, 200);
        assert!(
            served
                .header("cache-control")
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(served.body.as_ref(), SCRIPT.as_bytes());
        assert!(script("/static/onsale.0000000000000000.js").is_none());
        assert!(script_path().starts_with("/static/onsale.") && script_path().ends_with(".js"));
    }
}
