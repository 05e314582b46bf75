//! Topic ids (KIP-516). Real Kafka gives every topic a random 128-bit id at creation, which
//! Metadata v10+ returns and Fetch v13+ uses instead of the name. The simulation names
//! topics only, so the gateway derives each topic's id from its name — a fixed hash, the
//! same in every run and every replay, never the nil id — and remembers the names it has
//! seen so that an id read back in a request maps to its name.

use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// Topic ids by name and back.
#[derive(Clone, Debug, Default)]
pub struct TopicIds {
    names: BTreeMap<Uuid, Arc<str>>,
}

/// 64-bit FNV-1a of `bytes` from `basis`.
fn fnv(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl TopicIds {
    /// The id of `name` (and remember the name for [`name_of`](Self::name_of)).
    pub fn id_of(&mut self, name: &str) -> Uuid {
        let hi = fnv(name.as_bytes(), 0xcbf2_9ce4_8422_2325);
        let lo = fnv(name.as_bytes(), 0x8422_2325_cbf2_9ce4) | 1; // never the nil id
        let id = Uuid::from_u64_pair(hi, lo);
        self.names.entry(id).or_insert_with(|| Arc::from(name));
        id
    }

    /// The name of a topic id the gateway handed out.
    pub fn name_of(&self, id: &Uuid) -> Option<Arc<str>> {
        self.names.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are stable, distinct per name, never nil, and map back to their names.
    #[test]
    fn ids_are_stable_and_map_back() {
        let mut t = TopicIds::default();
        let a = t.id_of("orders");
        assert_eq!(a, TopicIds::default().id_of("orders"));
        assert_ne!(a, t.id_of("payments"));
        assert!(!a.is_nil());
        assert_eq!(t.name_of(&a).as_deref(), Some("orders"));
        assert_eq!(t.name_of(&Uuid::from_u64_pair(1, 2)), None);
    }
}
