//! What the collector answers: the batch result body for a parseable request and the error
//! body for a refused one. The SDK deserializes the same types.

use serde::{Deserialize, Serialize};

use crate::reason::{Reason, RequestError};

/// `200 OK` body: how each event of the request fared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Events newly stored (durably, per the collector's durability policy).
    pub accepted: usize,
    /// Events whose `messageId` was already stored within the dedup window; not stored again.
    pub duplicates: usize,
    /// Events refused, each with its position and reason. They are kept in the collector's
    /// rejected stream; resending them unchanged cannot succeed.
    pub rejected: Vec<Rejected>,
}

/// One refused event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    /// 0-based position in the request.
    pub index: usize,
    /// The event's `messageId` when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Machine-readable reason code.
    pub reason: Reason,
    /// Human-readable explanation.
    pub message: String,
}

/// Body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: RequestError,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds to wait before retrying (also sent as the `Retry-After` header) on 429/503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    /// An error body for `error` with an explanation.
    pub fn new(error: RequestError, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let r = BatchResponse {
            accepted: 2,
            duplicates: 1,
            rejected: vec![Rejected {
                index: 3,
                message_id: Some("m4".into()),
                reason: Reason::InvalidType,
                message: "bad".into(),
            }],
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"accepted":2,"duplicates":1,"rejected":[{"index":3,"messageId":"m4","reason":"invalid_type","message":"bad"}]}"#
        );
        assert_eq!(serde_json::from_str::<BatchResponse>(&json).unwrap(), r);
        let e = ErrorBody::new(RequestError::TooManyEvents, "x");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"too_many_events","message":"x"}"#
        );
    }
}
