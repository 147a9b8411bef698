//! The actions that are rate limited, recognised by method and path.

/// A rate-limited kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /v1/users`.
    SignUp,
    /// `POST /v1/sessions` and `POST /v1/operator/sessions`.
    LogIn,
    /// `POST /v1/events/{id}/holds` and `POST /bookEvent`.
    Hold,
    /// `POST /v1/holds/{id}/checkout`.
    Checkout,
    /// `POST /v1/events/{id}/queue`.
    QueueJoin,
}

impl Action {
    /// Every action, in the order settings list them.
    pub const ALL: [Action; 5] = [
        Action::SignUp,
        Action::LogIn,
        Action::Hold,
        Action::Checkout,
        Action::QueueJoin,
    ];

    /// The action a request is, if it is a limited one.
    pub fn of(method: &str, path: &str) -> Option<Action> {
        if method != "POST" {
            return None;
        }
        let path = path.trim_end_matches('/');
        match path {
            "/v1/users" => return Some(Action::SignUp),
            "/v1/sessions" | "/v1/operator/sessions" => return Some(Action::LogIn),
            "/bookEvent" => return Some(Action::Hold),
            _ => {}
        }
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        match segments.as_slice() {
            ["v1", "events", _, "holds"] => Some(Action::Hold),
            ["v1", "events", _, "queue"] => Some(Action::QueueJoin),
            ["v1", "holds", _, "checkout"] => Some(Action::Checkout),
            _ => None,
        }
    }

    /// The action's name in metrics, logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignUp => "sign_up",
            Action::LogIn => "log_in",
            Action::Hold => "hold",
            Action::Checkout => "checkout",
            Action::QueueJoin => "queue_join",
        }
    }

    /// What a person reads in a refusal: "too many {noun}".
    pub fn noun(self) -> &'static str {
        match self {
            Action::SignUp => "sign-ups",
            Action::LogIn => "log-in attempts",
            Action::Hold => "hold requests",
            Action::Checkout => "checkouts",
            Action::QueueJoin => "queue joins",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_limited_requests_only() {
        assert_eq!(Action::of("POST", "/v1/users"), Some(Action::SignUp));
        assert_eq!(Action::of("POST", "/v1/sessions"), Some(Action::LogIn));
        assert_eq!(
            Action::of("POST", "/v1/operator/sessions"),
            Some(Action::LogIn)
        );
        assert_eq!(Action::of("POST", "/v1/events/7/holds"), Some(Action::Hold));
        assert_eq!(Action::of("POST", "/bookEvent"), Some(Action::Hold));
        assert_eq!(
            Action::of("POST", "/v1/holds/h-1/checkout"),
            Some(Action::Checkout)
        );
        assert_eq!(
            Action::of("POST", "/v1/events/7/queue"),
            Some(Action::QueueJoin)
        );
        assert_eq!(Action::of("GET", "/v1/events/7/queue"), None);
        assert_eq!(Action::of("POST", "/v1/events/7/holds/x"), None);
        assert_eq!(Action::of("GET", "/v1/users"), None);
    }
}
