//! Path segments from `virtualAgentName`, against the real binary: segments
//! that decode to a traversal are refused before any request; whatever
//! passes is percent-encoded (RFC 3986 unreserved characters kept).

mod support;

use support::cresta::MockCresta;
use support::{api_key_env, event, run_test_mode, with_env};

#[test]
fn encoded_traversals_are_refused_before_any_request() {
    let cresta = MockCresta::start();
    for profile in [
        ".%2e",
        "%2e.",
        "%2E%2e",
        "a%2fb",
        "a%2Fb",
        "a\\b",
        "a%5Cb",
        "%252e%252e",
    ] {
        let name = format!("customers/c/profiles/{profile}/virtualAgents/v");
        let env = with_env(api_key_env(&cresta), &[("virtualAgentName", &name)]);
        let run = run_test_mode(event(&[("action", "get_handoff_data")]).as_bytes(), &env);
        run.assert_error(&["Config.InvalidVirtualAgentName"]);
    }
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn non_ascii_and_reserved_characters_are_sent_encoded() {
    let cresta = MockCresta::start();
    let name = "customers/acmé/profiles/p;1/virtualAgents/ag:ent";
    let env = with_env(api_key_env(&cresta), &[("virtualAgentName", name)]);
    let run = run_test_mode(
        event(&[("action", "get_pstn_transfer_data")]).as_bytes(),
        &env,
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = run_test_mode(event(&[("action", "get_handoff_data")]).as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let paths: Vec<String> = cresta
        .server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/customers/acm%C3%A9/profiles/p%3B1/virtualAgents/ag%3Aent:generatePSTNTransferData",
            "/v1/customers/acm%C3%A9/profiles/p%3B1/handoffs:fetchAIAgentHandoff",
        ]
    );
}
