//! The flags of rate limits, trusted edges and log-in safety, shared by `onsale dev`,
//! `onsale coordinator` and (rate limits and trusted edges only) `onsale edge`.

use std::time::Duration;

use onsale_coordinator::login_lock::LoginLockSettings;
use onsale_limits::{Action, ClientAddressPolicy, IpNet, Rate, RateLimits, Scope};

use crate::duration::parse_duration;

/// A rate setting: `N/s|min|h[,burst=B]`, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting(Option<Rate>);

fn parse_rate(text: &str) -> Result<RateSetting, String> {
    Rate::parse_setting(text).map(RateSetting)
}

fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(format!("{text:?}: say on or off")),
    }
}

fn parse_network(text: &str) -> Result<IpNet, String> {
    ClientAddressPolicy::parse_network(text)
}

/// Rate limits per client address and per account, and whose forwarded client address
/// is believed. Each rate is `N/s`, `N/min` or `N/h`, with `,burst=B` (default N) for
/// how many may come at once, or `off`.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitFlags {
    /// All rate limits on or off (`off` for load tests from one machine).
    #[arg(long, env = "ONSALE_RATE_LIMITS", default_value = "on", value_parser = parse_switch,
        action = clap::ArgAction::Set)]
    rate_limits: bool,
    /// Sign-ups per client address.
    #[arg(long, env = "ONSALE_RATE_SIGNUP", default_value = "30/min,burst=30", value_parser = parse_rate)]
    rate_signup: RateSetting,
    /// Log-in attempts per client address.
    #[arg(long, env = "ONSALE_RATE_LOGIN", default_value = "30/min,burst=30", value_parser = parse_rate)]
    rate_login: RateSetting,
    /// Hold requests per client address.
    #[arg(long, env = "ONSALE_RATE_HOLD", default_value = "300/min,burst=100", value_parser = parse_rate)]
    rate_hold: RateSetting,
    /// Checkouts per client address.
    #[arg(long, env = "ONSALE_RATE_CHECKOUT", default_value = "120/min,burst=60", value_parser = parse_rate)]
    rate_checkout: RateSetting,
    /// Queue joins per client address.
    #[arg(long, env = "ONSALE_RATE_QUEUE_JOIN", default_value = "120/min,burst=60", value_parser = parse_rate)]
    rate_queue_join: RateSetting,
    /// Hold requests per account (coordinator only: the edge cannot check tokens).
    #[arg(long, env = "ONSALE_RATE_HOLD_ACCOUNT", default_value = "60/min,burst=20", value_parser = parse_rate)]
    rate_hold_account: RateSetting,
    /// Checkouts per account (coordinator only).
    #[arg(long, env = "ONSALE_RATE_CHECKOUT_ACCOUNT", default_value = "20/min,burst=10", value_parser = parse_rate)]
    rate_checkout_account: RateSetting,
    /// Queue joins per account (coordinator only).
    #[arg(long, env = "ONSALE_RATE_QUEUE_JOIN_ACCOUNT", default_value = "20/min,burst=10", value_parser = parse_rate)]
    rate_queue_join_account: RateSetting,
    /// An edge or proxy (address or network, e.g. 10.0.0.0/8) whose X-Onsale-Client-Ip
    /// header names the client; repeat, or separate with commas. From other peers the
    /// header is ignored.
    #[arg(long = "trusted-proxy", env = "ONSALE_TRUSTED_PROXIES", value_delimiter = ',',
        value_parser = parse_network)]
    trusted_proxies: Vec<IpNet>,
    /// A secret shared by edges and coordinators: an edge sends it with the client's
    /// address (X-Onsale-Edge-Secret), and a coordinator believes the address from any
    /// peer that sends it.
    #[arg(long, env = "ONSALE_EDGE_SECRET", hide_env_values = true)]
    edge_secret: Option<String>,
}

impl LimitFlags {
    /// The limits to apply (none when `--rate-limits off`).
    pub fn rate_limits(&self) -> RateLimits {
        let mut limits = RateLimits::off();
        if !self.rate_limits {
            return limits;
        }
        for (action, scope, RateSetting(rate)) in [
            (Action::SignUp, Scope::Address, self.rate_signup),
            (Action::LogIn, Scope::Address, self.rate_login),
            (Action::Hold, Scope::Address, self.rate_hold),
            (Action::Checkout, Scope::Address, self.rate_checkout),
            (Action::QueueJoin, Scope::Address, self.rate_queue_join),
            (Action::Hold, Scope::Account, self.rate_hold_account),
            (Action::Checkout, Scope::Account, self.rate_checkout_account),
            (
                Action::QueueJoin,
                Scope::Account,
                self.rate_queue_join_account,
            ),
        ] {
            limits.set(action, scope, rate);
        }
        limits
    }

    /// Whose forwarded client address is believed, with `edge_secret` standing in when
    /// no `--edge-secret` was given.
    pub fn client_address(&self, edge_secret: Option<&str>) -> ClientAddressPolicy {
        ClientAddressPolicy::new(
            self.trusted_proxies.clone(),
            self.edge_secret
                .clone()
                .or_else(|| edge_secret.map(str::to_string)),
        )
    }

    /// The `--edge-secret`, if given.
    pub fn edge_secret(&self) -> Option<&str> {
        self.edge_secret.as_deref()
    }
}

/// `settings` with the limits, trusted edges and log-in safety of the flags;
/// `edge_secret` stands in for a missing `--edge-secret` (`onsale dev` makes one up).
pub fn guarded(
    settings: onsale_coordinator::Settings,
    limits: &LimitFlags,
    login: &LoginFlags,
    edge_secret: Option<&str>,
) -> onsale_coordinator::Settings {
    onsale_coordinator::Settings {
        rate_limits: limits.rate_limits(),
        client_address: limits.client_address(edge_secret),
        login_lock: login.login_lock(),
        password_queue: login.password_queue(),
        live_feeds_per_address: login.live_feeds_per_address.max(1),
        ..settings
    }
}

/// Failed log-ins, the password-hashing queue and the live feeds per address
/// (coordinator only).
#[derive(Debug, Clone, clap::Args)]
pub struct LoginFlags {
    /// Failed log-ins in a row that lock a username (after the third, each attempt must
    /// wait twice as long as the one before, from one second).
    #[arg(long, env = "ONSALE_LOGIN_MAX_FAILURES", default_value_t = 10)]
    login_max_failures: u32,
    /// How long a locked username stays locked.
    #[arg(long, env = "ONSALE_LOGIN_LOCK", default_value = "15m", value_parser = parse_duration)]
    login_lock: Duration,
    /// Password hashes that may wait for a hashing thread; past it, sign-ups and log-ins
    /// answer 503 busy at once.
    #[arg(long, env = "ONSALE_PASSWORD_QUEUE", default_value_t = onsale_coordinator::auth::DEFAULT_PASSWORD_QUEUE)]
    password_queue: usize,
    /// Live seat feeds (WebSocket and SSE) one client address may have open at once;
    /// past it, a new one answers 429 rate_limited.
    #[arg(long, env = "ONSALE_LIVE_FEEDS_PER_ADDRESS", default_value_t = onsale_coordinator::DEFAULT_LIVE_FEEDS_PER_ADDRESS)]
    live_feeds_per_address: usize,
}

impl LoginFlags {
    /// The log-in lock settings.
    fn login_lock(&self) -> LoginLockSettings {
        LoginLockSettings {
            max_failures: self.login_max_failures.max(1),
            lock: self.login_lock,
            ..LoginLockSettings::default()
        }
    }

    /// The password queue's length.
    fn password_queue(&self) -> usize {
        self.password_queue
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        limits: LimitFlags,
        #[command(flatten)]
        login: LoginFlags,
    }

    #[test]
    fn defaults_are_the_libraries_defaults() {
        let flags = Flags::try_parse_from(["onsale"]).unwrap();
        assert_eq!(flags.limits.rate_limits(), RateLimits::default());
        assert_eq!(flags.login.login_lock(), LoginLockSettings::default());
    }

    #[test]
    fn limits_turn_off_whole_or_one_by_one() {
        let flags = Flags::try_parse_from(["onsale", "--rate-limits", "off"]).unwrap();
        assert!(!flags.limits.rate_limits().any());
        let flags = Flags::try_parse_from([
            "onsale",
            "--rate-login",
            "off",
            "--rate-signup",
            "10/min,burst=5",
            "--trusted-proxy",
            "10.0.0.0/8,192.0.2.7",
        ])
        .unwrap();
        let limits = flags.limits.rate_limits();
        assert_eq!(limits.get(Action::LogIn, Scope::Address), None);
        assert_eq!(
            limits.get(Action::SignUp, Scope::Address),
            Rate::new(10, Duration::from_secs(60), 5)
        );
        assert_eq!(flags.limits.trusted_proxies.len(), 2);
        assert!(Flags::try_parse_from(["onsale", "--rate-hold", "lots"]).is_err());
        assert!(Flags::try_parse_from(["onsale", "--trusted-proxy", "edge"]).is_err());
    }
}
