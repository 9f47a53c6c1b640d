//! Which buckets a run publishes: those that have ended and no run published before, and of
//! those without any datapoint only the ones that have landed.
//!
//! A bucket with a datapoint is published once it has ended. SageMaker reports
//! `ConcurrentRequestsPerModel` only for buckets with requests in flight, and CloudWatch has
//! no "this bucket is complete" signal, so a bucket without any datapoint is either idle or
//! late. It counts as landed, and idle, once one of the variant's series has a datapoint in a
//! *later* bucket (its instances report through one pipeline, in order), or [`SETTLE`] after
//! it ended if nothing later came; until then it is left for a later run rather than published
//! as a false zero.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

/// How long after a bucket ends its data is taken as complete when no later datapoint says so.
pub const SETTLE: SignedDuration = SignedDuration::from_secs(120);
/// How far back each run looks: [`SETTLE`], the minute between runs, and two missed runs.
pub const LOOKBACK: SignedDuration = SignedDuration::from_secs(300);

/// The start of the bucket of length `bucket` that contains `t`.
pub fn bucket_start(t: Timestamp, bucket: SignedDuration) -> Timestamp {
    let (s, b) = (t.as_second(), bucket.as_secs());
    Timestamp::from_second(s - s.rem_euclid(b)).expect("within range")
}

/// The earliest instant a run at `now` reads (the start of its oldest bucket of any length).
pub fn window_start(now: Timestamp) -> Timestamp {
    bucket_start(now, SignedDuration::from_secs(60)) - LOOKBACK
}

/// The buckets (of length `bucket`) ended by `now` and within [`LOOKBACK`] that are not among
/// `published` and either have a datapoint in one of the variant's series (`reported`) or have
/// landed without one, given the latest bucket with a datapoint.
pub fn ready(
    now: Timestamp,
    bucket: SignedDuration,
    reported: &BTreeSet<Timestamp>,
    published: &BTreeSet<Timestamp>,
) -> Vec<Timestamp> {
    let end = bucket_start(now, bucket);
    let latest = reported.last();
    let mut b = end - LOOKBACK;
    let mut out = Vec::new();
    while b < end {
        let landed =
            reported.contains(&b) || latest.is_some_and(|l| b < *l) || b + bucket + SETTLE <= now;
        if landed && !published.contains(&b) {
            out.push(b);
        }
        b += bucket;
    }
    out
}

/// The buckets with a datapoint in any of `series`.
pub fn reported<'a>(
    series: impl IntoIterator<Item = &'a BTreeMap<Timestamp, f64>>,
) -> BTreeSet<Timestamp> {
    series.into_iter().flat_map(|s| s.keys().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: SignedDuration = SignedDuration::from_secs(10);

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_bucket_with_data_is_ready_once_ended_and_one_without_once_a_later_one_has_data() {
        let now = at("2026-11-23T12:01:05Z");
        // Data in 12:00:30 and 12:00:50: everything before 12:00:50 has landed, 12:00:50 has
        // ended, and the bucket in progress is not yet.
        let reported = BTreeSet::from([at("2026-11-23T12:00:30Z"), at("2026-11-23T12:00:50Z")]);
        let ready = ready(now, TEN, &reported, &BTreeSet::new());
        assert_eq!(ready.first(), Some(&at("2026-11-23T11:56:00Z")));
        assert_eq!(ready.last(), Some(&at("2026-11-23T12:00:50Z")));
        assert_eq!(ready.len(), 30);
        // Data only in 12:00:30: the buckets after it may be late.
        let reported = BTreeSet::from([at("2026-11-23T12:00:30Z")]);
        let ready = super::ready(now, TEN, &reported, &BTreeSet::new());
        assert_eq!(ready.last(), Some(&at("2026-11-23T12:00:30Z")));
    }

    #[test]
    fn a_silent_variant_waits_the_settling_time_and_published_buckets_are_skipped() {
        let now = at("2026-11-23T12:01:05Z");
        let published = BTreeSet::from([at("2026-11-23T11:56:00Z")]);
        let ready = ready(now, TEN, &BTreeSet::new(), &published);
        // 11:58:50 ended at 11:59:00, two minutes before 12:01:00 ≤ now; 11:59:00 has not.
        assert_eq!(ready.first(), Some(&at("2026-11-23T11:56:10Z")));
        assert_eq!(ready.last(), Some(&at("2026-11-23T11:58:50Z")));
        assert_eq!(ready.len(), 17);
    }

    #[test]
    fn every_bucket_is_ready_in_some_run_a_minute_apart() {
        // Runs each minute of a silent variant: each bucket is ready in a run while it is
        // within the look-back, so none is skipped.
        let mut published = BTreeSet::new();
        for minute in 0..10 {
            let now = at("2026-11-23T12:00:00Z") + SignedDuration::from_mins(minute);
            for b in ready(now, TEN, &BTreeSet::new(), &published) {
                assert!(published.insert(b), "{b} twice");
            }
        }
        let first = at("2026-11-23T11:55:00Z");
        let expected: BTreeSet<_> = (0..6 * 12)
            .map(|i| first + SignedDuration::from_secs(10 * i))
            .collect();
        assert_eq!(published, expected);
    }
}
