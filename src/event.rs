//! The Amazon Connect event: `Details.ContactData` (any JSON object, kept
//! whole) and `Details.Parameters` (a map of strings).

use crate::error::Error;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A parsed Connect contact-flow event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `Details.ContactData`, every field as received.
    pub contact_data: Map<String, Value>,
    /// `Details.Parameters`, all strings.
    pub parameters: BTreeMap<String, String>,
}

impl Event {
    /// Parses an event; anything unusable is an `Event.Malformed` error.
    pub fn parse(bytes: &[u8]) -> Result<Event, Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::event(
                "event is empty: expected a Connect event JSON object",
            ));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::event(format!("event is not valid JSON: {e}")))?;
        Event::from_value(value)
    }

    /// Builds an event from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Event, Error> {
        let Value::Object(mut root) = value else {
            return Err(Error::event(format!(
                "event must be a JSON object, got {}",
                kind(&value)
            )));
        };
        let details = match root.remove("Details") {
            Some(Value::Object(d)) => d,
            Some(other) => {
                return Err(Error::event(format!(
                    "event Details must be an object, got {}",
                    kind(&other)
                )))
            }
            None => return Err(Error::event("event has no Details object")),
        };
        let contact_data = match details.get("ContactData") {
            Some(Value::Object(c)) => c.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                return Err(Error::event(format!(
                    "Details.ContactData must be an object, got {}",
                    kind(other)
                )))
            }
        };
        let parameters = match details.get("Parameters") {
            Some(Value::Object(p)) => p
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(Error::event(format!(
                        "Details.Parameters.{k} must be a string, got {}",
                        kind(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            None | Some(Value::Null) => BTreeMap::new(),
            Some(other) => {
                return Err(Error::event(format!(
                    "Details.Parameters must be an object of strings, got {}",
                    kind(other)
                )))
            }
        };
        Ok(Event {
            contact_data,
            parameters,
        })
    }

    /// `ContactData.ContactId`, which both Cresta calls need.
    pub fn contact_id(&self) -> Result<&str, Error> {
        match self.contact_data.get("ContactId") {
            Some(Value::String(id)) if !id.trim().is_empty() => Ok(id),
            _ => Err(Error::event(
                "Details.ContactData.ContactId is missing or not a non-empty string",
            )),
        }
    }
}

/// A JSON value's kind, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> String {
        Event::parse(input.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn parses_contact_data_and_parameters() {
        let e = Event::parse(
            br#"{"Details":{"ContactData":{"ContactId":"c1","Attributes":{"a":"b"}},
                "Parameters":{"action":"get_handoff_data"}},"Name":"ContactFlowEvent"}"#,
        )
        .unwrap();
        assert_eq!(e.contact_id().unwrap(), "c1");
        assert_eq!(e.contact_data["Attributes"]["a"], "b");
        assert_eq!(e.parameters["action"], "get_handoff_data");
    }

    #[test]
    fn missing_parameters_are_empty() {
        let e = Event::parse(br#"{"Details":{"ContactData":{}}}"#).unwrap();
        assert!(e.parameters.is_empty());
        assert!(e.contact_id().is_err());
    }

    #[test]
    fn malformed_events_are_named() {
        assert!(err("").contains("empty"));
        assert!(err("  \n").contains("empty"));
        assert!(err("{nope").contains("not valid JSON"));
        assert!(err("[1,2]").contains("got an array"));
        assert!(err("{}").contains("no Details"));
        assert!(err(r#"{"Details":"x"}"#).contains("Details must be an object"));
        assert!(
            err(r#"{"Details":{"Parameters":{"n":1}}}"#).contains("Parameters.n must be a string")
        );
        assert!(err(r#"{"Details":{"Parameters":[]}}"#).contains("Parameters must be an object"));
        assert!(err(r#"{"Details":{"ContactData":5}}"#).contains("ContactData must be an object"));
    }
}
