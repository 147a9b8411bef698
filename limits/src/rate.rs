//! One limit (`30/min,burst=10` or `off`) and the limit of every action.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use crate::action::Action;
use crate::limiter::Scope;

/// A sustained rate with a burst: `count` requests per `per`, and up to `burst` at once
/// after a quiet spell (GCRA: one request is allowed every `per / count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per `per`.
    pub count: NonZeroU32,
    /// The period `count` is counted over.
    pub per: Duration,
    /// Requests allowed at once.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `count` per `per`, bursting to `burst`; `None` when a number is zero.
    pub fn new(count: u32, per: Duration, burst: u32) -> Option<Rate> {
        Some(Rate {
            count: NonZeroU32::new(count)?,
            per,
            burst: NonZeroU32::new(burst)?,
        })
    }

    /// The time one request's allowance takes to come back.
    pub fn interval(&self) -> Duration {
        (self.per / self.count.get()).max(Duration::from_nanos(1))
    }

    /// Parses `N/UNIT[,burst=B]` (UNIT: `s`, `min`, `h`; the burst defaults to N), or
    /// `off` for no limit (`None`).
    pub fn parse_setting(text: &str) -> Result<Option<Rate>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        text.parse().map(Some)
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || format!("{text:?} is not a rate like 30/min or 30/min,burst=10 (or off)");
        let (rate, burst) = match text.split_once(',') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (text.trim(), None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(shape)?;
        let count: u32 = count.trim().parse().map_err(|_| shape())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(shape()),
        };
        let burst = match burst {
            None => count,
            Some(burst) => burst
                .strip_prefix("burst=")
                .and_then(|b| b.trim().parse().ok())
                .ok_or_else(shape)?,
        };
        Rate::new(count, per, burst)
            .ok_or_else(|| format!("{text:?}: a rate and its burst must be above zero (or off)"))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => return write!(f, "{}/{:?},burst={}", self.count, self.per, self.burst),
        };
        write!(f, "{}/{unit},burst={}", self.count, self.burst)
    }
}

/// The limit of each action per client address and per account; `None` is no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    address: [Option<Rate>; 5],
    account: [Option<Rate>; 5],
}

impl RateLimits {
    /// No limits at all.
    pub fn off() -> Self {
        RateLimits {
            address: [None; 5],
            account: [None; 5],
        }
    }

    /// The limit of `action` in `scope`.
    pub fn get(&self, action: Action, scope: Scope) -> Option<Rate> {
        self.slots(scope)[index(action)]
    }

    /// Sets the limit of `action` in `scope` (`None`: no limit).
    pub fn set(&mut self, action: Action, scope: Scope, rate: Option<Rate>) {
        self.slots_mut(scope)[index(action)] = rate;
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.address
            .iter()
            .chain(&self.account)
            .any(Option::is_some)
    }

    fn slots(&self, scope: Scope) -> &[Option<Rate>; 5] {
        match scope {
            Scope::Address => &self.address,
            Scope::Account => &self.account,
        }
    }

    fn slots_mut(&mut self, scope: Scope) -> &mut [Option<Rate>; 5] {
        match scope {
            Scope::Address => &mut self.address,
            Scope::Account => &mut self.account,
        }
    }
}

impl Default for RateLimits {
    /// Limits a real buyer never meets, even many buyers behind one shared address (an
    /// office, a campus, a mobile carrier's NAT), that still make floods slow: per
    /// address, sign-up and log-in 30/min (burst 30), holds 300/min (burst 100),
    /// checkouts and queue joins 120/min (burst 60); per account, holds 60/min (burst 20),
    /// checkouts and queue joins 20/min (burst 10).
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        let rate = |count, burst| Rate::new(count, minute, burst);
        let mut limits = RateLimits::off();
        limits.set(Action::SignUp, Scope::Address, rate(30, 30));
        limits.set(Action::LogIn, Scope::Address, rate(30, 30));
        limits.set(Action::Hold, Scope::Address, rate(300, 100));
        limits.set(Action::Checkout, Scope::Address, rate(120, 60));
        limits.set(Action::QueueJoin, Scope::Address, rate(120, 60));
        limits.set(Action::Hold, Scope::Account, rate(60, 20));
        limits.set(Action::Checkout, Scope::Account, rate(20, 10));
        limits.set(Action::QueueJoin, Scope::Account, rate(20, 10));
        limits
    }
}

fn index(action: Action) -> usize {
    Action::ALL
        .iter()
        .position(|a| *a == action)
        .expect("every action is in ALL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_bursts_and_off() {
        let rate = Rate::parse_setting("10/min,burst=5").unwrap().unwrap();
        assert_eq!(rate, Rate::new(10, Duration::from_secs(60), 5).unwrap());
        assert_eq!(rate.interval(), Duration::from_secs(6));
        assert_eq!(rate.to_string(), "10/min,burst=5");
        let plain: Rate = "3/s".parse().unwrap();
        assert_eq!(plain.burst.get(), 3);
        assert_eq!(Rate::parse_setting(" OFF "), Ok(None));
        for bad in [
            "10",
            "10/day",
            "x/min",
            "0/min",
            "10/min,burst=0",
            "10/min,5",
            "",
        ] {
            assert!(Rate::parse_setting(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_limit_every_action_by_address() {
        let limits = RateLimits::default();
        for action in Action::ALL {
            assert!(limits.get(action, Scope::Address).is_some(), "{action:?}");
        }
        assert!(limits.get(Action::SignUp, Scope::Account).is_none());
        assert!(!RateLimits::off().any());
    }
}
