//! GCRA limiters keyed by client address and by account, bounded in memory.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::action::Action;
use crate::rate::{Rate, RateLimits};

/// What a limit is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The client's address (IPv6: its /64 network).
    Address,
    /// The signed-in account.
    Account,
}

impl Scope {
    /// The scope's name in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Address => "address",
            Scope::Account => "account",
        }
    }
}

/// Checks between two looks at the time of the last sweep.
const LOOK_EVERY_CHECKS: u64 = 64;
/// Checks between two sweeps of keys whose limit has fully come back.
const SWEEP_EVERY_CHECKS: u64 = 4096;
/// Longest time between two such sweeps while checks come in.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Keys one limiter keeps at most: past it (a flood of distinct addresses within one
/// burst window) the limiter starts afresh rather than grow.
const MAX_KEYS: usize = 1_000_000;

/// A refused request: which limit, and how long until it would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The action limited.
    pub action: Action,
    /// Whether the address or the account was over its limit.
    pub scope: Scope,
    /// How long until the request would be allowed.
    pub wait: Duration,
}

/// One keyed GCRA limiter with its sweeping state.
struct Keyed<K: Hash + Eq + Clone> {
    action: Action,
    scope: Scope,
    quota: Quota,
    /// Replaced whole when it grows past [`MAX_KEYS`].
    limiter: RwLock<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
    last_sweep: Mutex<Instant>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(action: Action, scope: Scope, rate: Rate) -> Self {
        let quota = Quota::with_period(rate.interval())
            .expect("an interval above zero")
            .allow_burst(rate.burst);
        Keyed {
            action,
            scope,
            quota,
            limiter: RwLock::new(RateLimiter::keyed(quota)),
            checks: AtomicU64::new(0),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    fn check(&self, key: &K) -> Result<(), Refusal> {
        self.sweep_now_and_then();
        let limiter = self.limiter.read().unwrap_or_else(|p| p.into_inner());
        limiter.check_key(key).map_err(|not_until| Refusal {
            action: self.action,
            scope: self.scope,
            wait: not_until.wait_time_from(limiter.clock().now()),
        })
    }

    fn len(&self) -> usize {
        self.limiter.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Forgets keys whose allowance has fully come back (they behave as new ones), every
    /// few thousand checks or seconds, so memory follows recent clients only.
    fn sweep_now_and_then(&self) {
        let checks = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        if !checks.is_multiple_of(LOOK_EVERY_CHECKS) {
            return;
        }
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        if !checks.is_multiple_of(SWEEP_EVERY_CHECKS) && last.elapsed() < SWEEP_EVERY {
            return;
        }
        *last = Instant::now();
        let keys = {
            let limiter = self.limiter.read().unwrap_or_else(|p| p.into_inner());
            limiter.retain_recent();
            limiter.shrink_to_fit();
            limiter.len()
        };
        if keys > MAX_KEYS {
            tracing::warn!(
                action = self.action.as_str(),
                scope = self.scope.as_str(),
                keys,
                "rate limiter over its key bound: starting afresh"
            );
            *self.limiter.write().unwrap_or_else(|p| p.into_inner()) =
                RateLimiter::keyed(self.quota);
        }
        metrics::gauge!("onsale_rate_limit_keys", "action" => self.action.as_str(), "scope" => self.scope.as_str())
            .set(keys.min(MAX_KEYS) as f64);
    }
}

/// The limiters of every limited action, per address and per account.
pub struct Limiters {
    address: Vec<Keyed<IpAddr>>,
    account: Vec<Keyed<String>>,
}

impl Limiters {
    /// Limiters for `limits` (actions without a limit get none).
    pub fn new(limits: &RateLimits) -> Self {
        let keyed = |scope| {
            Action::ALL.into_iter().filter_map(move |action| {
                limits.get(action, scope).map(|rate| (action, scope, rate))
            })
        };
        Limiters {
            address: keyed(Scope::Address)
                .map(|(a, s, r)| Keyed::new(a, s, r))
                .collect(),
            account: keyed(Scope::Account)
                .map(|(a, s, r)| Keyed::new(a, s, r))
                .collect(),
        }
    }

    /// Counts one `action` by `address` (and `account`, when signed in); refuses it when
    /// either is over its limit.
    pub fn check(
        &self,
        action: Action,
        address: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), Refusal> {
        if let Some(address) = address
            && let Some(limiter) = self.address.iter().find(|k| k.action == action)
        {
            limiter.check(&address_key(address))?;
        }
        if let Some(account) = account
            && let Some(limiter) = self.account.iter().find(|k| k.action == action)
        {
            limiter.check(&account.to_string())?;
        }
        Ok(())
    }

    /// Keys held, over all limiters.
    pub fn keys(&self) -> usize {
        self.address.iter().map(Keyed::len).sum::<usize>()
            + self.account.iter().map(Keyed::len).sum::<usize>()
    }
}

/// The key of a client address: IPv4 as is (IPv4-mapped IPv6 as IPv4), IPv6 by its /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_per_minute() -> Limiters {
        let mut limits = RateLimits::off();
        let rate = Rate::new(1, Duration::from_secs(60), 2);
        limits.set(Action::LogIn, Scope::Address, rate);
        limits.set(Action::Hold, Scope::Account, rate);
        Limiters::new(&limits)
    }

    #[test]
    fn refuses_past_the_burst_per_key() {
        let limiters = one_per_minute();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiters.check(Action::LogIn, Some(a), None).is_ok());
        assert!(limiters.check(Action::LogIn, Some(a), None).is_ok());
        let refusal = limiters.check(Action::LogIn, Some(a), None).unwrap_err();
        assert_eq!(refusal.scope, Scope::Address);
        assert!(refusal.wait > Duration::from_secs(50), "{refusal:?}");
        assert!(limiters.check(Action::LogIn, Some(b), None).is_ok());
        assert!(
            limiters.check(Action::SignUp, Some(a), None).is_ok(),
            "no limit"
        );
        for _ in 0..2 {
            assert!(limiters.check(Action::Hold, Some(a), Some("u1")).is_ok());
        }
        let refusal = limiters
            .check(Action::Hold, Some(b), Some("u1"))
            .unwrap_err();
        assert_eq!(refusal.scope, Scope::Account);
    }

    #[test]
    fn ipv6_hosts_share_their_64() {
        let limiters = one_per_minute();
        for host in ["2001:db8::1", "2001:db8::2"] {
            assert!(
                limiters
                    .check(Action::LogIn, Some(host.parse().unwrap()), None)
                    .is_ok()
            );
        }
        let third = limiters.check(Action::LogIn, Some("2001:db8::3".parse().unwrap()), None);
        assert!(third.is_err());
        let other = limiters.check(
            Action::LogIn,
            Some("2001:db8:0:1::1".parse().unwrap()),
            None,
        );
        assert!(other.is_ok());
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let mut limits = RateLimits::off();
        limits.set(
            Action::SignUp,
            Scope::Address,
            Rate::new(1_000_000, Duration::from_secs(1), 1),
        );
        let limiters = Limiters::new(&limits);
        for i in 0..20_000u32 {
            let address = IpAddr::V4(i.into());
            let _ = limiters.check(Action::SignUp, Some(address), None);
        }
        assert!(
            limiters.keys() < 20_000,
            "swept keys whose allowance came back: {}",
            limiters.keys()
        );
    }
}
