//! Partition assignors of the classic group protocol. The group leader (a consumer, not the
//! broker) runs one after JoinGroup, over every member's subscription, and hands the result
//! back in SyncGroup.
//!
//! - **range**: topic by topic, members sorted, each gets ⌊P/C⌋ consecutive partitions and the
//!   first P mod C members one more. Same-numbered partitions of co-partitioned topics land on
//!   the same member; with many topics the first members get more.
//! - **roundrobin**: every subscribed partition, sorted, dealt to members in turn.
//! - **sticky** (KIP-54): balanced (counts differ by at most one) while keeping each member's
//!   previously owned partitions wherever possible — fewer moves, warmer caches.
//! - **cooperative-sticky** (KIP-429): the sticky assignment, except that a partition moving
//!   from one member to another is withheld in this round. Its old owner revokes just that
//!   partition and rejoins; the follow-up rebalance gives it to the new owner. Nobody stops
//!   the world, at the price of a second rebalance.
//!
//! Simplification: for unequal subscriptions the sticky assignors use a greedy balance
//! (fill the least-loaded eligible member, then move partitions from the most to the least
//! loaded) rather than Kafka's full general algorithm; with equal subscriptions they follow
//! Kafka's constrained algorithm (min/max quota).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::config::AssignmentStrategy;
use crate::kafka::protocol::JoinGroupMember;
use crate::kafka::types::{Generation, TopicPartition};

/// The result: member id → its partitions (sorted), every member present.
pub type Assignment = BTreeMap<Arc<str>, Vec<TopicPartition>>;

/// Runs the assignor `strategy` over `members`, given each subscribed topic's partition count.
pub fn assign(
    strategy: AssignmentStrategy,
    partitions_per_topic: &BTreeMap<Arc<str>, u32>,
    members: &[JoinGroupMember],
) -> Assignment {
    let mut out = match strategy {
        AssignmentStrategy::Range => range(partitions_per_topic, members),
        AssignmentStrategy::RoundRobin => round_robin(partitions_per_topic, members),
        AssignmentStrategy::Sticky => sticky(partitions_per_topic, members),
        AssignmentStrategy::CooperativeSticky => {
            let target = sticky(partitions_per_topic, members);
            withhold_moving(target, members)
        }
    };
    for m in members {
        out.entry(m.member_id.clone()).or_default();
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Kafka's `MemberInfo` order: static members (by instance id) first, then by member id.
fn member_order(a: &JoinGroupMember, b: &JoinGroupMember) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

fn sorted_members(members: &[JoinGroupMember]) -> Vec<&JoinGroupMember> {
    let mut v: Vec<&JoinGroupMember> = members.iter().collect();
    v.sort_by(|a, b| member_order(a, b));
    v
}

fn subscribes(m: &JoinGroupMember, topic: &str) -> bool {
    m.subscription.topics.iter().any(|t| &**t == topic)
}

/// RangeAssignor.
fn range(ppt: &BTreeMap<Arc<str>, u32>, members: &[JoinGroupMember]) -> Assignment {
    let mut out = Assignment::new();
    for (topic, &count) in ppt {
        let subs: Vec<&JoinGroupMember> = sorted_members(members)
            .into_iter()
            .filter(|m| subscribes(m, topic))
            .collect();
        if subs.is_empty() {
            continue;
        }
        let c = subs.len() as u32;
        let (per, extra) = (count / c, count % c);
        for (i, m) in subs.iter().enumerate() {
            let i = i as u32;
            let start = per * i + i.min(extra);
            let len = per + u32::from(i < extra);
            let list = out.entry(m.member_id.clone()).or_default();
            list.extend((start..start + len).map(|p| TopicPartition::new(topic, p)));
        }
    }
    out
}

/// RoundRobinAssignor.
fn round_robin(ppt: &BTreeMap<Arc<str>, u32>, members: &[JoinGroupMember]) -> Assignment {
    let mut out = Assignment::new();
    let sorted = sorted_members(members);
    if sorted.is_empty() {
        return out;
    }
    let mut next = 0usize;
    for (topic, &count) in ppt {
        for p in 0..count {
            // Advance the circular iterator to the next member subscribed to this topic.
            for _ in 0..sorted.len() {
                let m = sorted[next % sorted.len()];
                next += 1;
                if subscribes(m, topic) {
                    let list = out.entry(m.member_id.clone()).or_default();
                    list.push(TopicPartition::new(topic, p));
                    break;
                }
            }
        }
    }
    out
}

/// Each member's still-valid owned partitions; a partition claimed by several members goes to
/// the claim from the highest generation (Kafka drops the stale claims).
fn valid_ownership(
    ppt: &BTreeMap<Arc<str>, u32>,
    members: &[JoinGroupMember],
) -> BTreeMap<Arc<str>, Vec<TopicPartition>> {
    let mut best: BTreeMap<TopicPartition, (Generation, Arc<str>)> = BTreeMap::new();
    for m in sorted_members(members) {
        let gen = m.subscription.generation;
        for tp in &m.subscription.owned_partitions {
            let exists = ppt
                .get(tp.topic.as_str())
                .is_some_and(|&n| tp.partition < n);
            if !exists || !subscribes(m, &tp.topic) {
                continue;
            }
            match best.get(tp) {
                Some((g, _)) if *g >= gen => {}
                _ => {
                    best.insert(tp.clone(), (gen, m.member_id.clone()));
                }
            }
        }
    }
    let mut owned: BTreeMap<Arc<str>, Vec<TopicPartition>> = BTreeMap::new();
    for (tp, (_, member)) in best {
        owned.entry(member).or_default().push(tp);
    }
    owned
}

fn all_partitions(
    ppt: &BTreeMap<Arc<str>, u32>,
    members: &[JoinGroupMember],
) -> Vec<TopicPartition> {
    ppt.iter()
        .filter(|(t, _)| members.iter().any(|m| subscribes(m, t)))
        .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t, p)))
        .collect()
}

/// StickyAssignor: constrained algorithm when all subscriptions are equal, greedy otherwise.
fn sticky(ppt: &BTreeMap<Arc<str>, u32>, members: &[JoinGroupMember]) -> Assignment {
    if members.is_empty() {
        return Assignment::new();
    }
    let owned = valid_ownership(ppt, members);
    let first: BTreeSet<&Arc<str>> = members[0].subscription.topics.iter().collect();
    let equal = members
        .iter()
        .all(|m| m.subscription.topics.iter().collect::<BTreeSet<_>>() == first);
    if equal {
        constrained(ppt, members, owned)
    } else {
        greedy(ppt, members, owned)
    }
}

/// Kafka's `constrainedAssign`: every member ends with minQuota or maxQuota partitions, and
/// only P mod C members get maxQuota; owned partitions are kept up to the quota.
fn constrained(
    ppt: &BTreeMap<Arc<str>, u32>,
    members: &[JoinGroupMember],
    owned: BTreeMap<Arc<str>, Vec<TopicPartition>>,
) -> Assignment {
    let all = all_partitions(ppt, members);
    let c = members.len();
    let min_quota = all.len() / c;
    let max_quota = all.len().div_ceil(c);
    let mut over_min_slots = all.len() % c;
    let mut out = Assignment::new();
    let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
    // Step 1: keep owned partitions, up to the quota this member may still have.
    for m in sorted_members(members) {
        let mine = owned.get(&m.member_id).cloned().unwrap_or_default();
        let keep = if mine.len() <= min_quota {
            mine.len()
        } else if over_min_slots > 0 && max_quota > min_quota {
            over_min_slots -= 1;
            max_quota
        } else {
            min_quota
        };
        let kept: Vec<TopicPartition> = mine.into_iter().take(keep).collect();
        taken.extend(kept.iter().cloned());
        out.insert(m.member_id.clone(), kept);
    }
    let mut unassigned = all.into_iter().filter(|tp| !taken.contains(tp));
    // Step 2: bring everyone up to minQuota.
    for m in sorted_members(members) {
        let list = out.get_mut(&m.member_id).expect("inserted above");
        while list.len() < min_quota {
            match unassigned.next() {
                Some(tp) => list.push(tp),
                None => break,
            }
        }
    }
    // Step 3: the remainder goes, one each, to members still at minQuota.
    for m in sorted_members(members) {
        let list = out.get_mut(&m.member_id).expect("inserted above");
        if list.len() == min_quota && over_min_slots > 0 {
            if let Some(tp) = unassigned.next() {
                list.push(tp);
                over_min_slots -= 1;
            }
        }
    }
    debug_assert!(unassigned.next().is_none(), "every partition is assigned");
    out
}

/// Greedy balance for unequal subscriptions.
fn greedy(
    ppt: &BTreeMap<Arc<str>, u32>,
    members: &[JoinGroupMember],
    owned: BTreeMap<Arc<str>, Vec<TopicPartition>>,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                owned.get(&m.member_id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let taken: BTreeSet<TopicPartition> = out.values().flatten().cloned().collect();
    let by_id: BTreeMap<&Arc<str>, &JoinGroupMember> =
        members.iter().map(|m| (&m.member_id, m)).collect();
    for tp in all_partitions(ppt, members) {
        if taken.contains(&tp) {
            continue;
        }
        let target = least_loaded(&out, &by_id, &tp);
        if let Some(id) = target {
            out.get_mut(&id).expect("member").push(tp);
        }
    }
    // Move partitions from the most to the least loaded eligible member while it helps.
    for _ in 0..all_partitions(ppt, members).len() {
        if !move_one(&mut out, &by_id) {
            break;
        }
    }
    out
}

fn least_loaded(
    out: &Assignment,
    by_id: &BTreeMap<&Arc<str>, &JoinGroupMember>,
    tp: &TopicPartition,
) -> Option<Arc<str>> {
    out.iter()
        .filter(|(id, _)| subscribes(by_id[id], &tp.topic))
        .min_by_key(|(id, v)| (v.len(), (*id).clone()))
        .map(|(id, _)| id.clone())
}

fn move_one(out: &mut Assignment, by_id: &BTreeMap<&Arc<str>, &JoinGroupMember>) -> bool {
    let mut ids: Vec<Arc<str>> = out.keys().cloned().collect();
    ids.sort_by_key(|id| std::cmp::Reverse(out[id].len()));
    for from in &ids {
        for tp in out[from].clone().into_iter().rev() {
            let Some(to) = least_loaded(out, by_id, &tp) else {
                continue;
            };
            if out[&to].len() + 1 < out[from].len() {
                out.get_mut(from).expect("member").retain(|x| x != &tp);
                out.get_mut(&to).expect("member").push(tp);
                return true;
            }
        }
    }
    false
}

/// CooperativeStickyAssignor's `adjustAssignment`: a partition owned by someone else in the
/// previous generation is not handed to its new owner yet; the old owner must revoke it
/// first (it sees it missing from its assignment) and rejoin.
fn withhold_moving(mut target: Assignment, members: &[JoinGroupMember]) -> Assignment {
    let mut previous_owner: BTreeMap<&TopicPartition, &Arc<str>> = BTreeMap::new();
    for m in members {
        for tp in &m.subscription.owned_partitions {
            previous_owner.insert(tp, &m.member_id);
        }
    }
    for (member, list) in target.iter_mut() {
        list.retain(|tp| previous_owner.get(tp).is_none_or(|owner| *owner == member));
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::Subscription;

    fn member(id: &str, topics: &[&str], owned: &[(&str, u32)]) -> JoinGroupMember {
        JoinGroupMember {
            member_id: Arc::from(id),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| Arc::from(*t)).collect(),
                owned_partitions: owned
                    .iter()
                    .map(|(t, p)| TopicPartition::new(t, *p))
                    .collect(),
                generation: Generation(1),
            },
        }
    }

    fn ppt(list: &[(&str, u32)]) -> BTreeMap<Arc<str>, u32> {
        list.iter().map(|(t, n)| (Arc::from(*t), *n)).collect()
    }

    fn names(a: &Assignment, id: &str) -> Vec<String> {
        a[id].iter().map(|tp| tp.to_string()).collect()
    }

    #[test]
    fn three_consumers_six_partitions_get_two_each() {
        // Proves every assignor gives 2 partitions to each of 3 members over 6 partitions.
        let ms = [
            member("a", &["t"], &[]),
            member("b", &["t"], &[]),
            member("c", &["t"], &[]),
        ];
        for s in [
            AssignmentStrategy::Range,
            AssignmentStrategy::RoundRobin,
            AssignmentStrategy::Sticky,
            AssignmentStrategy::CooperativeSticky,
        ] {
            let a = assign(s, &ppt(&[("t", 6)]), &ms);
            assert!(a.values().all(|v| v.len() == 2), "{s:?}: {a:?}");
            let all: BTreeSet<_> = a.values().flatten().collect();
            assert_eq!(all.len(), 6, "{s:?}");
        }
    }

    #[test]
    fn range_is_per_topic_and_uneven() {
        // Proves range gives consecutive blocks, first members the extra, per topic.
        let ms = [member("a", &["t", "u"], &[]), member("b", &["t", "u"], &[])];
        let a = assign(AssignmentStrategy::Range, &ppt(&[("t", 3), ("u", 3)]), &ms);
        assert_eq!(names(&a, "a"), ["t-0", "t-1", "u-0", "u-1"]);
        assert_eq!(names(&a, "b"), ["t-2", "u-2"]);
    }

    #[test]
    fn roundrobin_deals_across_topics() {
        // Proves roundrobin balances across topics where range would not.
        let ms = [member("a", &["t", "u"], &[]), member("b", &["t", "u"], &[])];
        let a = assign(
            AssignmentStrategy::RoundRobin,
            &ppt(&[("t", 3), ("u", 3)]),
            &ms,
        );
        assert_eq!(names(&a, "a"), ["t-0", "t-2", "u-1"]);
        assert_eq!(names(&a, "b"), ["t-1", "u-0", "u-2"]);
    }

    #[test]
    fn sticky_keeps_survivors_partitions() {
        // Proves when c leaves, a and b keep what they had and share c's partitions.
        let ms = [
            member("a", &["t"], &[("t", 0), ("t", 1)]),
            member("b", &["t"], &[("t", 2), ("t", 3)]),
        ];
        let a = assign(AssignmentStrategy::Sticky, &ppt(&[("t", 6)]), &ms);
        assert_eq!(a["a"].len(), 3);
        assert_eq!(a["b"].len(), 3);
        assert!(names(&a, "a").starts_with(&["t-0".to_string(), "t-1".to_string()]));
        assert!(names(&a, "b").starts_with(&["t-2".to_string(), "t-3".to_string()]));
    }

    #[test]
    fn cooperative_sticky_keeps_survivors_and_withholds_moves() {
        // Proves cooperative-sticky keeps survivors' partitions when one leaves, and when one
        // joins it withholds the partitions that must move until their owner revoked them.
        let leave = [
            member("a", &["t"], &[("t", 0), ("t", 1)]),
            member("b", &["t"], &[("t", 2), ("t", 3)]),
        ];
        let a = assign(
            AssignmentStrategy::CooperativeSticky,
            &ppt(&[("t", 6)]),
            &leave,
        );
        assert_eq!(a["a"].len() + a["b"].len(), 6);
        for tp in ["t-0", "t-1"] {
            assert!(names(&a, "a").contains(&tp.to_string()));
        }
        for tp in ["t-2", "t-3"] {
            assert!(names(&a, "b").contains(&tp.to_string()));
        }
        let join = [
            member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)]),
            member("b", &["t"], &[("t", 3), ("t", 4), ("t", 5)]),
            member("c", &["t"], &[]),
        ];
        let first = assign(
            AssignmentStrategy::CooperativeSticky,
            &ppt(&[("t", 6)]),
            &join,
        );
        assert_eq!(first["a"].len(), 2, "a gives up one partition");
        assert_eq!(first["b"].len(), 2, "b gives up one partition");
        assert!(first["c"].is_empty(), "withheld until revoked: {first:?}");
        // Second round: a and b no longer own the revoked ones.
        let second_round = [
            member("a", &["t"], &[("t", 0), ("t", 1)]),
            member("b", &["t"], &[("t", 3), ("t", 4)]),
            member("c", &["t"], &[]),
        ];
        let second = assign(
            AssignmentStrategy::CooperativeSticky,
            &ppt(&[("t", 6)]),
            &second_round,
        );
        assert_eq!(names(&second, "c"), ["t-2", "t-5"]);
    }

    #[test]
    fn sticky_unequal_subscriptions_respect_topics() {
        // Proves the greedy path only hands a member topics it subscribed to.
        let ms = [member("a", &["t"], &[]), member("b", &["t", "u"], &[])];
        let a = assign(AssignmentStrategy::Sticky, &ppt(&[("t", 2), ("u", 2)]), &ms);
        assert!(a["a"].iter().all(|tp| &*tp.topic == "t"));
        assert_eq!(a.values().map(Vec::len).sum::<usize>(), 4);
    }
}
