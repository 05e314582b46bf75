//! A steady rate for an application's operations — a producer's sends, an RPC caller's
//! calls — computed with integer maths from the start time, so the n-th operation is due at
//! the same instant however many came before it (no drift, no floats).

use crate::sim::{Duration, Time};

/// `count` records every `per_us` microseconds (`"500/s"`, `"30/m"`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SendRate {
    pub count: u64,
    pub per_us: u64,
}

impl SendRate {
    pub fn per_second(count: u64) -> Self {
        SendRate {
            count,
            per_us: 1_000_000,
        }
    }

    /// When operation number `seq` is due after `start` (integer maths, no drift).
    pub fn due(self, start: Time, seq: u64) -> Time {
        let us = seq as u128 * self.per_us as u128 / self.count.max(1) as u128;
        start + Duration::from_us(us.min(u64::MAX as u128) as u64)
    }
}
