//! Attempt records as the API and the UI show them: the request and response stored as
//! JSON (secrets already masked) read back into the API's models, response bodies cut to a
//! preview. Shared by the delivery log and the test send.

use app::model::{ReceivedResponse, SentRequest};
use serde_json::Value;

/// How much of a response body the log and test sends show.
pub const RESPONSE_PREVIEW: usize = 4096;

/// A recorded request (`null` when none was made).
pub fn sent_request(value: Value) -> Option<SentRequest> {
    if value.is_null() {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// A recorded response, its body cut at 4 KiB.
pub fn received_response(value: Value) -> Option<ReceivedResponse> {
    let mut response: ReceivedResponse = serde_json::from_value(value).ok()?;
    response.body = cut(response.body);
    Some(response)
}

pub fn cut(mut body: String) -> String {
    crate::util::truncate_utf8(&mut body, RESPONSE_PREVIEW);
    body
}
