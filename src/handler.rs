//! One invocation, start to end: event -> configuration -> credentials ->
//! Cresta call -> flat string map. The [`Handler`] holds what lives for the
//! process: settings, the HTTP agent, the token cache and the secret cache.
//! It is shared (`&self`, `Sync`) by the runtime's workers, so concurrent
//! invocations use one connection pool and one cache of each kind.

use crate::auth::{ClientCredentials, TokenCache};
use crate::config::{resolve, Config, CredentialSource, SecretArn};
use crate::cresta::{self, ApiAuth};
use crate::deadline::Deadline;
use crate::error::{Category, Error};
use crate::event::Event;
use crate::flatten::to_answer;
use crate::http::{HttpClient, Response};
use crate::invocation::Context;
use crate::secrets::SecretCache;
use crate::settings::Settings;
use serde_json::Value;

/// Environment lookup; tests pass their own.
pub type Env = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process's state, built once and reused by every invocation.
pub struct Handler {
    settings: Settings,
    http: HttpClient,
    tokens: TokenCache,
    secrets: SecretCache,
    env: Env,
}

impl Handler {
    /// Builds the state from settings and an environment lookup.
    pub fn new(settings: Settings, env: Env) -> Handler {
        let http = HttpClient::from_settings(&settings);
        Handler {
            secrets: SecretCache::new(settings.secret_cache_ttl),
            tokens: TokenCache::default(),
            settings,
            http,
            env,
        }
    }

    /// The HTTP client, shared with the Runtime API loop.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Handles one raw event; the answer is the flat JSON object for Connect.
    pub fn handle(&self, raw_event: &[u8], invocation: &Context) -> Result<String, Error> {
        let deadline = invocation.deadline;
        let event = Event::parse(raw_event)?;
        if crate::log::enabled(crate::log::Level::Debug) {
            if let Ok(v) = serde_json::from_slice::<Value>(raw_event) {
                crate::debug!("event: {}", crate::log::redact_json(&v));
            }
        }
        let config = resolve(&event.parameters, &*self.env)?;
        register_config_secrets(&config);
        crate::debug!(
            "resolved: action={:?} api={} auth={:?} agent={}",
            config.action,
            config.api_base,
            config.auth_base,
            config.virtual_agent.name()
        );
        let contact_id = event.contact_id()?;
        // The first request connects by itself while the others' connections open.
        let hosts = self.hosts_needed(&config);
        self.http.preconnect(&hosts[1..], deadline);
        let (url, body) = cresta::build_call(
            &config,
            &event,
            contact_id,
            &self.settings.supported_dtmf_chars,
        );
        let resp = match &config.credentials {
            CredentialSource::ApiKey(key) => cresta::send(
                &self.http,
                config.action,
                &url,
                &body,
                ApiAuth::ApiKey(key),
                deadline,
            )?,
            CredentialSource::Client { id, secret } => {
                let creds = ClientCredentials {
                    id: id.clone(),
                    secret: secret.clone(),
                };
                self.call_with_oauth(&config, Some(creds), &url, &body, invocation)?
            }
            CredentialSource::Secret(_) => {
                self.call_with_oauth(&config, None, &url, &body, invocation)?
            }
        };
        let map = cresta::interpret(config.action, &resp)?;
        crate::info!(
            "{:?} for contact {contact_id} answered with {} keys",
            config.action,
            map.len()
        );
        to_answer(&map)
    }

    /// The Cresta call with a Bearer token. `direct` holds client credentials
    /// given directly; otherwise they come from the secret in `config`.
    /// At most one refresh per invocation: a 401 on the token request drops a
    /// cached secret (it may have been rotated), and a 401 on the API call
    /// made with a cached token drops that token; then one more try.
    fn call_with_oauth(
        &self,
        config: &Config,
        direct: Option<ClientCredentials>,
        url: &str,
        body: &Value,
        invocation: &Context,
    ) -> Result<Response, Error> {
        let deadline = invocation.deadline;
        let auth_base = config
            .auth_base
            .as_deref()
            .ok_or_else(|| Error::new(Category::Auth, "NoAuthDomain", "no auth domain resolved"))?;
        let secret_arn = match &config.credentials {
            CredentialSource::Secret(arn) => Some(arn),
            _ => None,
        };
        let mut refreshed = false;
        let (mut creds, mut creds_cached) = match direct {
            Some(c) => (c, false),
            None => self.secret_creds(secret_arn, invocation)?,
        };
        let (token, token_cached) = loop {
            match self.tokens.token(&self.http, auth_base, &creds, deadline) {
                Ok(t) => break t,
                Err(e) if is_rejected(&e) && creds_cached && !refreshed => {
                    crate::warn!("token request refused with cached secret; re-reading the secret");
                    if let Some(arn) = secret_arn {
                        self.secrets.forget(&arn.arn, &creds);
                    }
                    refreshed = true;
                    (creds, creds_cached) = self.secret_creds(secret_arn, invocation)?;
                }
                Err(e) => return Err(e),
            }
        };
        let resp = cresta::send(
            &self.http,
            config.action,
            url,
            body,
            ApiAuth::Bearer(&token),
            deadline,
        )?;
        if resp.status == 401 && token_cached && !refreshed {
            crate::warn!("Cresta refused the cached token; requesting a new one");
            self.tokens.forget(auth_base, &creds.id, &token);
            let (token, _) = self.tokens.token(&self.http, auth_base, &creds, deadline)?;
            return cresta::send(
                &self.http,
                config.action,
                url,
                body,
                ApiAuth::Bearer(&token),
                deadline,
            );
        }
        Ok(resp)
    }

    /// Init prefetch (src/prefetch.rs): the connections, the secret and the
    /// token this configuration needs, without calling the API.
    pub fn prefetch(&self, config: &Config, deadline: Deadline) -> Result<(), Error> {
        register_config_secrets(config);
        // No API call at init: its connection is opened ahead too.
        let hosts = self.hosts_needed(config);
        self.http
            .preconnect(&hosts[usize::from(hosts.len() > 1)..], deadline);
        let creds = match &config.credentials {
            CredentialSource::Client { id, secret } => ClientCredentials {
                id: id.clone(),
                secret: secret.clone(),
            },
            CredentialSource::Secret(arn) => {
                self.secret_creds(Some(arn), &Context::with_deadline(deadline))?
                    .0
            }
            CredentialSource::ApiKey(_) => return Ok(()),
        };
        match &config.auth_base {
            Some(auth) => self
                .tokens
                .token(&self.http, auth, &creds, deadline)
                .map(drop),
            None => Ok(()),
        }
    }

    /// The hosts this invocation will send requests to, in order: Secrets
    /// Manager and the token host unless their answers are cached, then the
    /// API host. All but the first are opened ahead (src/preconnect.rs).
    fn hosts_needed(&self, config: &Config) -> Vec<String> {
        let mut urls = Vec::new();
        if let Some(auth) = &config.auth_base {
            let creds = match &config.credentials {
                CredentialSource::Client { id, secret } => Some(ClientCredentials {
                    id: id.clone(),
                    secret: secret.clone(),
                }),
                CredentialSource::Secret(arn) => self.secrets.cached(&arn.arn),
                CredentialSource::ApiKey(_) => None,
            };
            if let (CredentialSource::Secret(arn), None) = (&config.credentials, &creds) {
                urls.extend(crate::secrets::endpoint(arn, &*self.env).ok());
            }
            if creds.is_none_or(|c| self.tokens.get(auth, &c).is_none()) {
                urls.push(auth.clone());
            }
        }
        urls.push(config.api_base.clone());
        urls
    }

    fn secret_creds(
        &self,
        arn: Option<&SecretArn>,
        invocation: &Context,
    ) -> Result<(ClientCredentials, bool), Error> {
        let arn = arn.ok_or_else(|| {
            Error::new(
                Category::Auth,
                "NoCredentials",
                "no OAuth credentials resolved",
            )
        })?;
        self.secrets.get(
            &self.http,
            arn,
            &*self.env,
            invocation.trace_id.as_deref(),
            invocation.deadline,
        )
    }
}

fn is_rejected(e: &Error) -> bool {
    e.category() == Category::Auth && e.error_type() == "Auth.TokenRejected"
}

/// Every credential from the configuration is redacted from logs from now on.
fn register_config_secrets(config: &Config) {
    match &config.credentials {
        CredentialSource::ApiKey(key) => crate::log::register_secret(key),
        CredentialSource::Client { secret, .. } => crate::log::register_secret(secret),
        CredentialSource::Secret(_) => {}
    }
}
