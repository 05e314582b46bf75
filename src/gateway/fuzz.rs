//! The decoder under random and mutated frames: whatever a client sends, the gateway
//! answers, forwards or refuses it — it never panics and never allocates by a count it
//! read off the wire. The seeds are real frames that kafka-python and librdkafka sent to
//! `kafkasim serve` (one per API and version, from their tapes: `testdata/frames.hex`);
//! the mutations flip bytes, truncate, and overwrite 4 bytes with large counts.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::frame::{decode_header, split_frame, version_ok};
use super::records::RecordTable;
use super::topics::TopicIds;
use super::translate::{to_sim, GroupBytes, Handled, Tables};

const SEEDS: &str = include_str!("testdata/frames.hex");

fn seeds() -> Vec<Vec<u8>> {
    SEEDS
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

/// Runs one frame through everything a request goes through before the simulation.
fn handle(frame: &[u8]) -> Option<Handled> {
    let req = decode_header(Bytes::copy_from_slice(frame)).ok()?;
    if !version_ok(req.api, req.version) && req.api != kafka_protocol::messages::ApiKey::ApiVersions
    {
        return None;
    }
    let (mut records, mut topics, mut groups) = (
        RecordTable::default(),
        TopicIds::default(),
        GroupBytes::default(),
    );
    let mut t = Tables {
        records: &mut records,
        topics: &mut topics,
        groups: &mut groups,
        txns: &mut Default::default(),
        now_us: 1,
    };
    to_sim(&req, 1, &mut t).ok()
}

/// Every seed frame decodes and translates (so the mutations start from valid requests).
#[test]
fn every_seed_frame_is_handled() {
    let seeds = seeds();
    // With librdkafka's AddPartitionsToTxn v0, AddOffsetsToTxn v0, EndTxn v1 and
    // TxnOffsetCommit v3 (a transactional session's tape).
    assert_eq!(seeds.len(), 30);
    for (i, f) in seeds.iter().enumerate() {
        assert!(handle(f).is_some(), "seed {i} ({} bytes) refused", f.len());
    }
}

/// A forged count of 2^31 elements in a tiny frame is refused, not allocated.
#[test]
fn a_forged_array_count_is_refused_without_allocating_it() {
    // Metadata v1: header (key 3, v1, corr 1, no client id), then topics: count 0x7fffffff.
    let frame = [0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff];
    assert!(handle(&frame).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random bytes never panic the framing or the decoder.
    #[test]
    fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = split_frame(&mut buf);
        let _ = handle(&bytes);
    }

    /// Mutated real frames never panic either.
    #[test]
    fn mutated_frames_never_panic(
        seed in 0usize..26,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        count in proptest::option::of((any::<usize>(), prop_oneof![
            Just(0x7fff_ffffu32), Just(0xffff_ffff), Just(0x8000_0000), any::<u32>()
        ])),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut f = seeds()[seed].clone();
        for (pos, b) in flips {
            let n = f.len();
            f[pos % n] = b;
        }
        if let Some((pos, v)) = count {
            if f.len() >= 4 {
                let at = pos % (f.len() - 3);
                f[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
        if let Some(c) = cut {
            let n = f.len();
            f.truncate(c % (n + 1));
        }
        let _ = handle(&f);
    }
}
