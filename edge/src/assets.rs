//! The site's files (`onsale-site`: the pages' script, stylesheet and icon) as the edge
//! serves them, each under its hashed name and kept by browsers and CDNs for a year.

use crate::http::EdgeResponse;

pub(crate) use onsale_site::{favicon_path, script_path, stylesheet_path};

/// The script, the stylesheet or the icon, if `path` names this build's copy of one.
pub(crate) fn asset(path: &str) -> Option<EdgeResponse> {
    let file = onsale_site::asset(path)?;
    let mut response = EdgeResponse::new(200, file.content_type, file.body);
    response
        .headers
        .push(("cache-control".into(), onsale_site::CACHE_CONTROL.into()));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_files_under_their_hashed_names_for_a_year() {
        let script = asset(script_path()).expect("the script");
        assert_eq!(script.status, 200);
        assert!(
            script
                .header("cache-control")
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(
            script.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert!(asset("/static/onsale.0000000000000000.js").is_none());
    }
}
