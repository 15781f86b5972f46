//! How nexus connects to NATS: the server URL and TLS settings from the configuration, the
//! credentials from the environment only (DESIGN section 7), never logged.

use std::path::PathBuf;
use std::time::Duration;

use nexus_model::config::NatsConfig;

/// The environment variable holding the NATS user name (with [`NATS_PASSWORD`]).
pub const NATS_USER: &str = "NATS_USER";
/// The environment variable holding the NATS password.
pub const NATS_PASSWORD: &str = "NATS_PASSWORD";
/// The environment variable holding a NATS authentication token.
pub const NATS_TOKEN: &str = "NATS_TOKEN";
/// The environment variable naming a NATS credentials file (JWT and NKey seed).
pub const NATS_CREDS: &str = "NATS_CREDS";

/// How the client proves who it is. The `Debug` form never shows a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials (or only those in the URL).
    #[default]
    None,
    /// `NATS_USER` and `NATS_PASSWORD`.
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `NATS_TOKEN`.
    Token(String),
    /// `NATS_CREDS`: a credentials file.
    CredentialsFile(PathBuf),
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NatsAuth::None => write!(f, "none"),
            NatsAuth::UserPassword { user, .. } => write!(f, "user {user} with a password"),
            NatsAuth::Token(_) => write!(f, "token"),
            NatsAuth::CredentialsFile(path) => write!(f, "credentials file {}", path.display()),
        }
    }
}

/// Why the NATS credentials in the environment cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NatsAuthError {
    /// Only one half of a user and password was set.
    #[error("NATS_USER and NATS_PASSWORD must be set together")]
    HalfUserPassword,
    /// Several ways to authenticate were set.
    #[error("set only one of NATS_USER/NATS_PASSWORD, NATS_TOKEN and NATS_CREDS")]
    Ambiguous,
}

impl NatsAuth {
    /// Reads the credentials from the environment through `env` (empty values count as unset).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<NatsAuth, NatsAuthError> {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        let (user, password, token, creds) = (get(NATS_USER), get(NATS_PASSWORD), get(NATS_TOKEN), get(NATS_CREDS));
        let user_password = match (user, password) {
            (Some(user), Some(password)) => Some(NatsAuth::UserPassword { user, password }),
            (None, None) => None,
            _ => return Err(NatsAuthError::HalfUserPassword),
        };
        let mut chosen =
            [user_password, token.map(NatsAuth::Token), creds.map(|p| NatsAuth::CredentialsFile(p.into()))]
                .into_iter()
                .flatten();
        match (chosen.next(), chosen.next()) {
            (None, _) => Ok(NatsAuth::None),
            (Some(auth), None) => Ok(auth),
            (Some(_), Some(_)) => Err(NatsAuthError::Ambiguous),
        }
    }
}

/// Everything needed to open a NATS connection.
#[derive(Clone, Debug)]
pub struct NatsConnection {
    /// Server URL (`nats.url`, or `NATS_URL`); may carry credentials, so log [`Self::redacted_url`].
    pub url: String,
    /// Credentials from the environment.
    pub auth: NatsAuth,
    /// Require TLS (`nats.tls`).
    pub tls_required: bool,
    /// Certificate authorities for the server's certificate (`nats.tls_ca_file`).
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate and key (`nats.tls_cert_file`, `nats.tls_key_file`).
    pub tls_client: Option<(PathBuf, PathBuf)>,
    /// How long to wait for the server; default 5 s.
    pub connect_timeout: Duration,
    /// A name the server shows for this connection (`nats-server` monitoring).
    pub name: String,
}

impl NatsConnection {
    /// A plain connection to `url` with no credentials.
    pub fn new(url: impl Into<String>) -> NatsConnection {
        NatsConnection {
            url: url.into(),
            auth: NatsAuth::None,
            tls_required: false,
            tls_ca_file: None,
            tls_client: None,
            connect_timeout: Duration::from_secs(5),
            name: "nexus".to_string(),
        }
    }

    /// The connection `[nats]` describes, with credentials from the process environment.
    pub fn from_config(nats: &NatsConfig) -> Result<NatsConnection, NatsAuthError> {
        Ok(NatsConnection {
            auth: NatsAuth::from_env(|name| std::env::var(name).ok())?,
            tls_required: nats.tls,
            tls_ca_file: nats.tls_ca_file.clone(),
            tls_client: nats.tls_cert_file.clone().zip(nats.tls_key_file.clone()),
            ..NatsConnection::new(nats.url.clone())
        })
    }

    /// The same connection under another name.
    pub fn named(&self, name: &str) -> NatsConnection {
        NatsConnection { name: name.to_string(), ..self.clone() }
    }

    /// The URL with any user, password or token replaced by `***`, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Client options for this connection (add callbacks, then `connect(&self.url)`). The client
    /// reconnects for ever after a lost connection, resubscribing on its own.
    pub fn options(&self) -> async_nats::ConnectOptions {
        let mut options = match &self.auth {
            NatsAuth::None => async_nats::ConnectOptions::new(),
            NatsAuth::UserPassword { user, password } => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            NatsAuth::Token(token) => async_nats::ConnectOptions::with_token(token.clone()),
            NatsAuth::CredentialsFile(_) => async_nats::ConnectOptions::new(),
        }
        .connection_timeout(self.connect_timeout)
        .name(&self.name)
        .require_tls(self.tls_required);
        if let Some(ca) = &self.tls_ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.tls_client {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options
    }

    /// Connects with these options plus `extra` (callbacks, capacities).
    pub async fn connect_with(
        &self,
        extra: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
    ) -> Result<async_nats::Client, async_nats::ConnectError> {
        let mut options = self.options();
        if let NatsAuth::CredentialsFile(path) = &self.auth {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::Authentication, e))?;
        }
        extra(options).connect(self.url.as_str()).await
    }

    /// Connects with these options and nothing else.
    pub async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        self.connect_with(|options| options).await
    }
}

/// `url` with its secret replaced by `***`: the password of `user:password@`, or a whole
/// `token@`. Used for every URL that reaches a log or an error (NATS and PostgreSQL alike).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(scheme, rest)| (scheme, rest));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let redacted = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}{path}"),
            None => format!("***@{host}{path}"),
        },
        None => rest.to_string(),
    };
    if scheme.is_empty() { redacted } else { format!("{scheme}://{redacted}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn credentials_come_from_one_source_in_the_environment() {
        assert_eq!(NatsAuth::from_env(env(&[])), Ok(NatsAuth::None));
        assert_eq!(
            NatsAuth::from_env(env(&[(NATS_USER, "a"), (NATS_PASSWORD, "b")])),
            Ok(NatsAuth::UserPassword { user: "a".into(), password: "b".into() })
        );
        assert_eq!(NatsAuth::from_env(env(&[(NATS_TOKEN, "t")])), Ok(NatsAuth::Token("t".into())));
        assert_eq!(NatsAuth::from_env(env(&[(NATS_USER, "a")])), Err(NatsAuthError::HalfUserPassword));
        assert_eq!(NatsAuth::from_env(env(&[(NATS_TOKEN, "t"), (NATS_CREDS, "/c")])), Err(NatsAuthError::Ambiguous));
        assert_eq!(NatsAuth::from_env(env(&[(NATS_TOKEN, "")])), Ok(NatsAuth::None));
    }

    #[test]
    fn secrets_never_show_in_debug_or_urls() {
        let auth = NatsAuth::UserPassword { user: "svc".into(), password: "hunter2".into() };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", NatsAuth::Token("s3cret".into())).contains("s3cret"));
        assert_eq!(redact_url("nats://svc:hunter2@host:4222"), "nats://svc:***@host:4222");
        assert_eq!(redact_url("tls://token@host"), "tls://***@host");
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact_url("postgres://u:p@db/x?sslmode=require"), "postgres://u:***@db/x?sslmode=require");
        assert_eq!(redact_url("postgres://u@host/db"), "postgres://***@host/db");
    }
}
