//! Kafka's error codes, as data inside responses (never panics), with the code numbers and
//! names of `org.apache.kafka.common.protocol.Errors`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! error_codes {
    ($( $variant:ident = $code:expr, $name:literal, $retriable:expr, $metadata:expr; )*) => {
        /// A Kafka error code. `None` means success.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Kafka's numeric code.
            pub fn code(self) -> i16 { match self { $( ErrorCode::$variant => $code, )* } }
            /// Kafka's name, e.g. `NOT_LEADER_OR_FOLLOWER`.
            pub fn name(self) -> &'static str { match self { $( ErrorCode::$variant => $name, )* } }
            /// Whether the Java client treats it as a `RetriableException`.
            pub fn is_retriable(self) -> bool { match self { $( ErrorCode::$variant => $retriable, )* } }
            /// Whether the client should refresh its metadata (`InvalidMetadataException`).
            pub fn needs_metadata_refresh(self) -> bool { match self { $( ErrorCode::$variant => $metadata, )* } }
            /// Every code, for tables and tests.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];
        }
    };
}

error_codes! {
    UnknownServerError = -1, "UNKNOWN_SERVER_ERROR", false, false;
    None = 0, "NONE", false, false;
    OffsetOutOfRange = 1, "OFFSET_OUT_OF_RANGE", false, false;
    CorruptMessage = 2, "CORRUPT_MESSAGE", true, false;
    UnknownTopicOrPartition = 3, "UNKNOWN_TOPIC_OR_PARTITION", true, true;
    LeaderNotAvailable = 5, "LEADER_NOT_AVAILABLE", true, true;
    NotLeaderOrFollower = 6, "NOT_LEADER_OR_FOLLOWER", true, true;
    RequestTimedOut = 7, "REQUEST_TIMED_OUT", true, false;
    MessageTooLarge = 10, "MESSAGE_TOO_LARGE", false, false;
    NetworkException = 13, "NETWORK_EXCEPTION", true, true;
    CoordinatorLoadInProgress = 14, "COORDINATOR_LOAD_IN_PROGRESS", true, false;
    CoordinatorNotAvailable = 15, "COORDINATOR_NOT_AVAILABLE", true, false;
    NotCoordinator = 16, "NOT_COORDINATOR", true, false;
    NotEnoughReplicas = 19, "NOT_ENOUGH_REPLICAS", true, false;
    NotEnoughReplicasAfterAppend = 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, false;
    InvalidRequiredAcks = 21, "INVALID_REQUIRED_ACKS", false, false;
    IllegalGeneration = 22, "ILLEGAL_GENERATION", false, false;
    UnknownMemberId = 25, "UNKNOWN_MEMBER_ID", false, false;
    InvalidSessionTimeout = 26, "INVALID_SESSION_TIMEOUT", false, false;
    RebalanceInProgress = 27, "REBALANCE_IN_PROGRESS", false, false;
    StaleControllerEpoch = 11, "STALE_CONTROLLER_EPOCH", false, false;
    OutOfOrderSequenceNumber = 45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, false;
    DuplicateSequenceNumber = 46, "DUPLICATE_SEQUENCE_NUMBER", false, false;
    InvalidProducerEpoch = 47, "INVALID_PRODUCER_EPOCH", false, false;
    KafkaStorageError = 56, "KAFKA_STORAGE_ERROR", true, true;
    FetchSessionIdNotFound = 70, "FETCH_SESSION_ID_NOT_FOUND", true, false;
    InvalidFetchSessionEpoch = 71, "INVALID_FETCH_SESSION_EPOCH", true, false;
    UnknownProducerId = 59, "UNKNOWN_PRODUCER_ID", false, false;
    FencedLeaderEpoch = 74, "FENCED_LEADER_EPOCH", true, true;
    UnknownLeaderEpoch = 75, "UNKNOWN_LEADER_EPOCH", true, false;
    OffsetNotAvailable = 78, "OFFSET_NOT_AVAILABLE", true, false;
    MemberIdRequired = 79, "MEMBER_ID_REQUIRED", false, false;
    FencedInstanceId = 82, "FENCED_INSTANCE_ID", false, false;
    InvalidRecord = 87, "INVALID_RECORD", false, false;
    EligibleLeadersNotAvailable = 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", false, false;
    StaleBrokerEpoch = 77, "STALE_BROKER_EPOCH", false, false;
    BrokerIdNotRegistered = 102, "BROKER_ID_NOT_REGISTERED", false, false;
    DuplicateBrokerRegistration = 101, "DUPLICATE_BROKER_REGISTRATION", false, false;
    InvalidUpdateVersion = 108, "INVALID_UPDATE_VERSION", false, false;
    IneligibleReplica = 107, "INELIGIBLE_REPLICA", false, false;
    NewLeaderElected = 106, "NEW_LEADER_ELECTED", false, false;
    InvalidTxnState = 48, "INVALID_TXN_STATE", false, false;
    InvalidProducerIdMapping = 49, "INVALID_PRODUCER_ID_MAPPING", false, false;
    InvalidTransactionTimeout = 50, "INVALID_TRANSACTION_TIMEOUT", false, false;
    ConcurrentTransactions = 51, "CONCURRENT_TRANSACTIONS", true, false;
    TransactionCoordinatorFenced = 52, "TRANSACTION_COORDINATOR_FENCED", false, false;
    UnstableOffsetCommit = 88, "UNSTABLE_OFFSET_COMMIT", true, false;
    ProducerFenced = 90, "PRODUCER_FENCED", false, false;
    TransactionAbortable = 120, "TRANSACTION_ABORTABLE", false, false;
}

impl ErrorCode {
    pub fn is_ok(self) -> bool {
        self == ErrorCode::None
    }
    pub fn from_code(code: i16) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|e| e.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        // Proves a few codes and names against Kafka's Errors.java.
        assert_eq!(ErrorCode::NotLeaderOrFollower.code(), 6);
        assert_eq!(ErrorCode::NotEnoughReplicas.code(), 19);
        assert_eq!(ErrorCode::NotEnoughReplicasAfterAppend.code(), 20);
        assert_eq!(ErrorCode::FencedLeaderEpoch.code(), 74);
        assert_eq!(
            ErrorCode::OutOfOrderSequenceNumber.name(),
            "OUT_OF_ORDER_SEQUENCE_NUMBER"
        );
        assert!(ErrorCode::NotLeaderOrFollower.needs_metadata_refresh());
        assert!(!ErrorCode::IllegalGeneration.is_retriable());
        let mut codes: Vec<i16> = ErrorCode::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len(), "codes are unique");
        assert_eq!(
            ErrorCode::from_code(6),
            Some(ErrorCode::NotLeaderOrFollower)
        );
    }
}
