//! Init prefetch (SPEC section 9). When the environment alone resolves a
//! complete OAuth configuration (the recommended deployment), init fetches
//! the secret and the token and opens the API connection before the first
//! `/next`, so that with provisioned concurrency the first event costs one
//! round trip, like a warm one. It finishes before init ends: Lambda
//! freezes the environment once the runtime asks for an event, and work
//! left on a thread would stall until the first call. A failure is logged
//! and changes nothing: the invocation fetches what it needs itself.

use crate::config::{resolve, Config};
use crate::deadline::Deadline;
use crate::handler::Handler;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The most init spends prefetching (Lambda allows 10 s for init).
pub const BOUND: Duration = Duration::from_secs(3);

/// Prefetches for `handler` when `env` alone is a complete OAuth
/// configuration; logs what happened. Never fails.
pub fn at_init(handler: &Handler, env: &dyn Fn(&str) -> Option<String>) {
    let Some(config) = environment_config(env) else {
        crate::debug!(
            "init prefetch: the environment is not a complete OAuth configuration; skipped"
        );
        return;
    };
    let started = Instant::now();
    let deadline = Deadline::after(BOUND);
    let outcome = handler.prefetch(&config, deadline);
    handler.http().settle(deadline);
    match outcome {
        Ok(()) => crate::info!(
            "init prefetch: secret, token and API connection ready in {}",
            crate::log::ms(started.elapsed())
        ),
        Err(e) => crate::warn!(
            "init prefetch failed after {} ({e}); invocations fetch for themselves",
            crate::log::ms(started.elapsed())
        ),
    }
}

/// The configuration the environment alone resolves to, when it is a
/// complete OAuth one (the action, which each event gives, aside).
pub fn environment_config(env: &dyn Fn(&str) -> Option<String>) -> Option<Config> {
    let mut parameters = BTreeMap::new();
    parameters.insert("action".to_string(), "get_pstn_transfer_data".to_string());
    let config = resolve(&parameters, env).ok()?;
    config.auth_base.is_some().then_some(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CredentialSource;
    use crate::lookup;

    const AGENT: &str = "customers/c/profiles/p/virtualAgents/v";
    const ARN: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:cresta-Ab12Cd";

    #[test]
    fn a_secret_arn_region_and_agent_in_the_environment_are_enough() {
        let env = lookup(&[
            ("region", "us-west-2-prod"),
            ("oauthSecretArn", ARN),
            ("virtualAgentName", AGENT),
        ]);
        let config = environment_config(&env).expect("complete");
        assert!(matches!(config.credentials, CredentialSource::Secret(_)));
        assert_eq!(
            config.auth_base.as_deref(),
            Some("https://auth.us-west-2-prod.cresta.ai")
        );
    }

    #[test]
    fn client_credentials_count_too() {
        let env = lookup(&[
            ("region", "us-west-2-prod"),
            ("oauthClientId", "id"),
            ("oauthClientSecret", "s"),
            ("virtualAgentName", AGENT),
        ]);
        assert!(environment_config(&env).is_some());
    }

    #[test]
    fn api_keys_and_incomplete_environments_are_not_prefetched() {
        let api_key = lookup(&[
            ("region", "us-west-2-prod"),
            ("apiKey", "k"),
            ("virtualAgentName", AGENT),
        ]);
        assert!(environment_config(&api_key).is_none());
        let no_agent = lookup(&[("region", "us-west-2-prod"), ("oauthSecretArn", ARN)]);
        assert!(environment_config(&no_agent).is_none());
        let no_region = lookup(&[("oauthSecretArn", ARN), ("virtualAgentName", AGENT)]);
        assert!(environment_config(&no_region).is_none());
        assert!(environment_config(&lookup(&[])).is_none());
    }
}
