//! Kafka's framing and the request header. On the wire every request and response is a
//! 4-byte big-endian size followed by that many bytes; a request starts with its header
//! (API key, API version, correlation id, client id, and tagged fields in the "flexible"
//! versions), then the body, whose layout depends on (API key, version). A response starts
//! with the correlation id it answers (plus tagged fields in flexible versions — except
//! ApiVersions, whose response header is always v0 so a client that does not know the
//! broker's versions yet can read it).
//!
//! This file reads frames out of a byte stream and refuses the malformed ones: a size below
//! the smallest header or above [`MAX_FRAME_BYTES`] (Kafka's `socket.request.max.bytes`,
//! 100 MiB by default; smaller here), an unknown API key, a header that does not decode.
//! Each refusal is a [`FrameError`] whose text is the log line the gateway prints before
//! closing that one connection; nothing else is touched. [`SUPPORTED`] is the consistent set
//! of API versions the gateway advertises in ApiVersions: only versions whose fields it
//! translates (librdkafka picks features, such as its record format, from the whole set).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use std::fmt;

/// The largest request accepted (Kafka's `socket.request.max.bytes` is 100 MiB; a
/// simulated cluster needs far less).
pub const MAX_FRAME_BYTES: usize = 16 << 20;

/// The API versions the gateway speaks, as (API, min, max). Each range stops before the
/// first version whose new fields the translation does not map (e.g. Fetch v13 is in, as
/// topic ids are mapped; OffsetFetch v8, which batches groups, is out).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 13),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    // The transactional APIs (KIP-98). AddPartitionsToTxn stops at v3: v4+ is the
    // broker-to-broker batched form (KIP-890 part 1 verification). EndTxn stops at v4: v5
    // means the client expects an epoch bump at every commit/abort (KIP-890 part 2), which
    // the simulation does not do yet. Kafka 4.0's AddOffsetsToTxn and TxnOffsetCommit end
    // at v4 (TRANSACTION_ABORTABLE, never sent here).
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 4),
];

/// The supported version range of `api`, if the gateway speaks it.
pub fn supported(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// Why a connection is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The size prefix is negative, too small for a header, or over the limit.
    BadSize(i64),
    UnknownApi(i16),
    /// A known API at a version the gateway does not speak (Kafka closes the connection
    /// too, except for ApiVersions, which is answered with UNSUPPORTED_VERSION).
    UnsupportedVersion {
        api: ApiKey,
        version: i16,
    },
    /// The header or body does not decode.
    Malformed {
        api: Option<ApiKey>,
        why: String,
    },
    /// A response could not be encoded at the client's version (a translation bug).
    Encode {
        api: ApiKey,
        why: String,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadSize(n) => write!(
                f,
                "frame size {n} outside 8..={MAX_FRAME_BYTES} bytes (oversized or not Kafka)"
            ),
            FrameError::UnknownApi(k) => write!(f, "unknown API key {k}"),
            FrameError::UnsupportedVersion { api, version } => {
                write!(f, "{api:?} v{version} is not supported by the gateway")
            }
            FrameError::Malformed { api, why } => match api {
                Some(a) => write!(f, "malformed {a:?} request: {why}"),
                None => write!(f, "malformed request: {why}"),
            },
            FrameError::Encode { api, why } => write!(f, "cannot encode {api:?} response: {why}"),
        }
    }
}

/// Takes one complete frame off the front of `buf`, if it holds one. A bad size prefix is
/// an error at once (the rest of the stream cannot be trusted).
pub fn split_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as i64;
    if !(8..=MAX_FRAME_BYTES as i64).contains(&size) {
        return Err(FrameError::BadSize(size));
    }
    if buf.len() < 4 + size as usize {
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size as usize).freeze()))
}

/// A request's header, decoded, and its body, still bytes.
#[derive(Clone, Debug)]
pub struct Request {
    pub api: ApiKey,
    pub version: i16,
    pub header: RequestHeader,
    pub body: Bytes,
}

/// Decodes the header of one frame. An unsupported version of a supported API is
/// reported as such, after the header decoded (so ApiVersions can still be answered).
pub fn decode_header(frame: Bytes) -> Result<Request, FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::BadSize(frame.len() as i64));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|()| FrameError::UnknownApi(key))?;
    if supported(api).is_none() {
        return Err(FrameError::UnsupportedVersion { api, version });
    }
    let mut body = frame;
    let header_version = api.request_header_version(version.max(0));
    let header =
        RequestHeader::decode(&mut body, header_version).map_err(|e| FrameError::Malformed {
            api: Some(api),
            why: format!("header: {e}"),
        })?;
    Ok(Request {
        api,
        version,
        header,
        body,
    })
}

/// Whether the gateway speaks `api` at `version`.
pub fn version_ok(api: ApiKey, version: i16) -> bool {
    supported(api).is_some_and(|(lo, hi)| (lo..=hi).contains(&version))
}

/// Decodes a request body of type `T` at `version`; leftover bytes are malformed too.
pub fn decode_body<T: Decodable>(req: &Request) -> Result<T, FrameError> {
    let mut body = req.body.clone();
    let malformed = |why: String| FrameError::Malformed {
        api: Some(req.api),
        why,
    };
    let msg = T::decode(&mut body, req.version).map_err(|e| malformed(e.to_string()))?;
    if body.has_remaining() {
        return Err(malformed(format!(
            "{} bytes after the body",
            body.remaining()
        )));
    }
    Ok(msg)
}

/// Encodes a response frame (size prefix, header, body) answering `correlation_id`.
pub fn encode_response<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<Bytes, FrameError> {
    let fail = |e: anyhow::Error| FrameError::Encode {
        api,
        why: e.to_string(),
    };
    let mut buf = BytesMut::new();
    buf.put_i32(0); // the size, filled in below
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, api.response_header_version(version))
        .map_err(fail)?;
    body.encode(&mut buf, version).map_err(fail)?;
    let size = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_i32(bytes.len() as i32);
        b.put_slice(bytes);
        b
    }

    /// A frame is split only once complete; a bad size is refused at once.
    #[test]
    fn split_waits_for_a_whole_frame_and_refuses_bad_sizes() {
        let mut b = frame(&[0, 18, 0, 0, 0, 0, 0, 7, 0, 0]);
        let mut partial = BytesMut::from(&b[..7]);
        assert_eq!(split_frame(&mut partial), Ok(None));
        let f = split_frame(&mut b).unwrap().unwrap();
        assert_eq!(f.len(), 10);
        assert!(b.is_empty());
        let mut huge = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
        assert_eq!(
            split_frame(&mut huge),
            Err(FrameError::BadSize(i32::MAX as i64))
        );
        let mut negative = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert_eq!(split_frame(&mut negative), Err(FrameError::BadSize(-5)));
    }

    /// An ApiVersions v0 header decodes; an unknown key is refused by number.
    #[test]
    fn header_decodes_and_unknown_keys_are_named() {
        // ApiVersions v0, correlation 7, client id "ab".
        let f = Bytes::from_static(&[0, 18, 0, 0, 0, 0, 0, 7, 0, 2, b'a', b'b']);
        let r = decode_header(f).unwrap();
        assert_eq!(
            (r.api, r.version, r.header.correlation_id),
            (ApiKey::ApiVersions, 0, 7)
        );
        let bad = Bytes::from_static(&[0x7f, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            decode_header(bad).unwrap_err(),
            FrameError::UnknownApi(0x7f00)
        );
    }
}
