//! The two Cresta calls: the exact request bodies, and the answers turned
//! into the flat string map Connect gets.

use crate::config::{Action, Config};
use crate::deadline::Deadline;
use crate::error::{excerpt, Category, Error};
use crate::event::{kind, Event};
use crate::flatten::flatten;
use crate::http::{HttpClient, Request, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The `Authorization` header value for the API call.
#[derive(Clone, Copy)]
pub enum ApiAuth<'a> {
    /// `ApiKey {key}` (deprecated).
    ApiKey(&'a str),
    /// `Bearer {token}` from OAuth.
    Bearer(&'a str),
}

impl ApiAuth<'_> {
    fn header(self) -> String {
        match self {
            ApiAuth::ApiKey(k) => format!("ApiKey {k}"),
            ApiAuth::Bearer(t) => format!("Bearer {t}"),
        }
    }
}

/// The endpoint name, as in Cresta's API reference.
fn operation(action: Action) -> &'static str {
    match action {
        Action::PstnTransferData => "generatePSTNTransferData",
        Action::HandoffData => "fetchAIAgentHandoff",
    }
}

/// A path segment with every byte outside RFC 3986's unreserved set
/// percent-encoded: whatever passed validation, the segment stays one
/// segment and means what it says (`%` itself becomes `%25`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URL and JSON body of the call for `config.action`.
pub fn build_call(
    config: &Config,
    event: &Event,
    contact_id: &str,
    supported_dtmf_chars: &str,
) -> (String, Value) {
    let agent = &config.virtual_agent;
    match config.action {
        Action::PstnTransferData => {
            let mut metadata: Map<String, Value> = event.contact_data.clone();
            let parameters: Map<String, Value> = config
                .metadata_parameters
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            metadata.insert("parameters".into(), Value::Object(parameters));
            metadata.insert("version".into(), Value::String(crate::VERSION.into()));
            (
                format!(
                    "{}/v1/customers/{}/profiles/{}/virtualAgents/{}:generatePSTNTransferData",
                    config.api_base,
                    encode_segment(&agent.customer),
                    encode_segment(&agent.profile),
                    encode_segment(&agent.agent)
                ),
                json!({
                    "callId": contact_id,
                    "ccaasMetadata": metadata,
                    "supportedDtmfChars": supported_dtmf_chars,
                }),
            )
        }
        Action::HandoffData => (
            format!(
                "{}/v1/customers/{}/profiles/{}/handoffs:fetchAIAgentHandoff",
                config.api_base,
                encode_segment(&agent.customer),
                encode_segment(&agent.profile)
            ),
            json!({ "correlationId": contact_id }),
        ),
    }
}

/// Makes the call (with retries); returns the final answer whatever its status.
pub fn send(
    http: &HttpClient,
    action: Action,
    url: &str,
    body: &Value,
    auth: ApiAuth<'_>,
    deadline: Deadline,
) -> Result<Response, Error> {
    let what = match action {
        Action::PstnTransferData => "Cresta generatePSTNTransferData call",
        Action::HandoffData => "Cresta fetchAIAgentHandoff call",
    };
    let settings = match auth {
        ApiAuth::ApiKey(_) => "apiDomain (or region) and apiKey",
        ApiAuth::Bearer(_) => "apiDomain (or region), and the token the OAuth endpoint issued",
    };
    let req = Request {
        what,
        category: Category::Upstream,
        url: url.to_string(),
        headers: vec![
            ("Authorization", auth.header()),
            ("Content-Type", "application/json".to_string()),
        ],
        body: body.to_string().into_bytes(),
        settings,
    };
    http.post(&req, deadline)
}

/// Turns Cresta's answer into the flat map for Connect.
pub fn interpret(action: Action, resp: &Response) -> Result<BTreeMap<String, String>, Error> {
    let op = operation(action);
    if resp.status != 200 {
        return Err(Error::new(
            Category::Upstream,
            format!("Status{}", resp.status),
            format!(
                "Cresta {op} answered status {} ({}): {}",
                resp.status,
                resp.attempts_note(),
                excerpt(&resp.body)
            ),
        ));
    }
    let malformed = |why: String| Error::new(Category::Upstream, "MalformedResponse", why);
    let value: Value = serde_json::from_slice(&resp.body).map_err(|_| {
        malformed(format!(
            "Cresta {op} answered 200 with a body that is not JSON: {}",
            excerpt(&resp.body)
        ))
    })?;
    let Value::Object(object) = value else {
        return Err(malformed(format!(
            "Cresta {op} answered 200 with {}, expected a JSON object",
            kind(&value)
        )));
    };
    let map = match action {
        Action::PstnTransferData => flatten(&object)?,
        Action::HandoffData => handoff_answer(&object).map_err(malformed)?,
    };
    without_credentials(map).map_err(malformed)
}

/// The answer goes to the flow (and to stdout in `--test`): a server that
/// echoes a credential back in a 200 must not hand it to the flow editor.
/// Values are redacted; a key that holds a credential refuses the answer.
fn without_credentials(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        if crate::redact::redact_credentials(&key) != key {
            return Err("Cresta's answer has a key that holds a credential".into());
        }
        out.insert(key, crate::redact::redact_credentials(&value));
    }
    Ok(out)
}

/// The four `handoff_*` keys; every field must be present.
fn handoff_answer(object: &Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    let handoff = match object.get("handoff") {
        Some(Value::Object(h)) => h,
        Some(other) => {
            return Err(format!(
                "Cresta fetchAIAgentHandoff answer's handoff is {}, expected an object",
                kind(other)
            ))
        }
        None => return Err("Cresta fetchAIAgentHandoff answer has no handoff object".into()),
    };
    let mut out = BTreeMap::new();
    for field in [
        "conversation",
        "conversationCorrelationId",
        "summary",
        "transferTarget",
    ] {
        let text = match handoff.get(field) {
            // Only a string, as the Go and Python versions accept.
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Err(format!(
                    "Cresta fetchAIAgentHandoff answer has no handoff.{field}"
                ))
            }
            Some(other) => {
                return Err(format!(
                    "Cresta fetchAIAgentHandoff answer's handoff.{field} is {}, expected a string",
                    kind(other)
                ))
            }
        };
        out.insert(format!("handoff_{field}"), text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve;

    fn setup(action: &str) -> (Config, Event) {
        let event = Event::parse(
            format!(
                r#"{{"Details":{{"ContactData":{{"ContactId":"c-1","Channel":"VOICE",
                "MediaStreams":{{"Customer":{{"Audio":{{"StreamARN":"s"}}}}}}}},
                "Parameters":{{"action":"{action}","region":"us-west-2-prod","apiKey":"k",
                "oauthSecretArn":"","authDomain":"a","virtualAgentName":"customers/c/profiles/p/virtualAgents/v",
                "custom":"x"}}}}}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        let config = resolve(&event.parameters, &|_| None).unwrap();
        (config, event)
    }

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            body: body.as_bytes().to_vec(),
            attempts: 1,
            out_of_time: false,
        }
    }

    #[test]
    fn pstn_request_keeps_contact_data_and_filters_parameters() {
        let (config, event) = setup("get_pstn_transfer_data");
        let (url, body) = build_call(&config, &event, "c-1", "0123456789*");
        assert_eq!(
            url,
            "https://api.us-west-2-prod.cresta.com/v1/customers/c/profiles/p/virtualAgents/v:generatePSTNTransferData"
        );
        assert_eq!(
            body,
            json!({
                "callId": "c-1",
                "ccaasMetadata": {
                    "ContactId": "c-1", "Channel": "VOICE",
                    "MediaStreams": {"Customer": {"Audio": {"StreamARN": "s"}}},
                    "parameters": {"custom": "x"},
                    "version": crate::VERSION,
                },
                "supportedDtmfChars": "0123456789*",
            })
        );
    }

    #[test]
    fn handoff_request_uses_customer_and_profile() {
        let (config, event) = setup("get_handoff_data");
        let (url, body) = build_call(&config, &event, "c-1", "x");
        assert_eq!(
            url,
            "https://api.us-west-2-prod.cresta.com/v1/customers/c/profiles/p/handoffs:fetchAIAgentHandoff"
        );
        assert_eq!(body, json!({"correlationId": "c-1"}));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("walter-dev_1.x~"), "walter-dev_1.x~");
        assert_eq!(encode_segment("é"), "%C3%A9");
        assert_eq!(encode_segment("a:b@c"), "a%3Ab%40c");
        assert_eq!(encode_segment("50%"), "50%25");
        let (mut config, event) = setup("get_pstn_transfer_data");
        config.virtual_agent =
            crate::config::parse_virtual_agent("customers/ünï/profiles/p%41;x/virtualAgents/a'b")
                .unwrap();
        let (url, _) = build_call(&config, &event, "c-1", "x");
        assert_eq!(
            url,
            "https://api.us-west-2-prod.cresta.com/v1/customers/%C3%BCn%C3%AF/profiles/p%2541%3Bx/virtualAgents/a%27b:generatePSTNTransferData"
        );
        config.action = Action::HandoffData;
        let (url, _) = build_call(&config, &event, "c-1", "x");
        assert_eq!(
            url,
            "https://api.us-west-2-prod.cresta.com/v1/customers/%C3%BCn%C3%AF/profiles/p%2541%3Bx/handoffs:fetchAIAgentHandoff"
        );
    }

    #[test]
    fn handoff_answer_gives_the_four_keys() {
        let m = interpret(
            Action::HandoffData,
            &answer(
                200,
                r#"{"handoff":{"conversation":"cv","conversationCorrelationId":"c-1",
                "summary":"s","transferTarget":"pstn:PSTN1","extra":"ignored"}}"#,
            ),
        )
        .unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m["handoff_transferTarget"], "pstn:PSTN1");
        assert_eq!(m["handoff_conversationCorrelationId"], "c-1");
    }

    #[test]
    fn credentials_echoed_in_an_answer_are_redacted() {
        crate::redact::register_secret("echoed-token-in-answer-1234");
        let m = interpret(
            Action::PstnTransferData,
            &answer(
                200,
                r#"{"phoneNumber":"+1","note":"auth was echoed-token-in-answer-1234","plan":"Basic plan"}"#,
            ),
        )
        .unwrap();
        assert_eq!(m["note"], "auth was [REDACTED]");
        assert_eq!(m["plan"], "Basic plan");
        let e = interpret(
            Action::PstnTransferData,
            &answer(200, r#"{"echoed-token-in-answer-1234":"x"}"#),
        )
        .unwrap_err();
        assert_eq!(e.error_type(), "Upstream.MalformedResponse");
        assert!(!e.message().contains("echoed-token"));
    }

    #[test]
    fn bad_answers_are_errors() {
        let e = interpret(
            Action::HandoffData,
            &answer(200, r#"{"handoff":{"conversation":"c"}}"#),
        )
        .unwrap_err();
        assert!(
            e.message().contains("handoff.conversationCorrelationId"),
            "{e}"
        );
        let e = interpret(Action::HandoffData, &answer(200, r#"{}"#)).unwrap_err();
        assert!(e.message().contains("no handoff object"));
        for (value, kind) in [("42", "number"), ("true", "boolean"), ("[]", "array")] {
            let body = format!(
                r#"{{"handoff":{{"conversation":"cv","conversationCorrelationId":"c-1",
                "summary":{value},"transferTarget":"pstn:PSTN1"}}}}"#
            );
            let e = interpret(Action::HandoffData, &answer(200, &body)).unwrap_err();
            assert_eq!(e.error_type(), "Upstream.MalformedResponse", "{value}");
            assert!(
                e.message().contains("handoff.summary is") && e.message().contains(kind),
                "{value}: {}",
                e.message()
            );
        }
        let e = interpret(Action::PstnTransferData, &answer(200, "<html>oops</html>")).unwrap_err();
        assert_eq!(e.error_type(), "Upstream.MalformedResponse");
        assert!(e.message().contains("<html>oops</html>"));
        let e = interpret(Action::PstnTransferData, &answer(200, "[1]")).unwrap_err();
        assert!(e.message().contains("an array"));
        let e = interpret(Action::PstnTransferData, &answer(404, r#"{"error":"nf"}"#)).unwrap_err();
        assert_eq!(e.error_type(), "Upstream.Status404");
        assert!(e.message().contains("404") && e.message().contains("nf"));
    }
}
