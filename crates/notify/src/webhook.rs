//! Webhook delivery: a JSON document POSTed to a URL, retried with back-off on connection errors,
//! 5xx and 429 answers; other answers are final. Used for case notifications and notices.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("webhook URL {0:?}: use http:// or https://")]
    Url(String),
    #[error("webhook {url} failed after {attempts} attempts: {message}")]
    Delivery {
        url: String,
        attempts: u32,
        message: String,
    },
}

/// Posts JSON to webhooks.
#[derive(Clone)]
pub struct Webhook {
    client: reqwest::Client,
    attempts: u32,
    first_wait: Duration,
}

impl Webhook {
    /// A sender with a 10 s timeout per attempt, `attempts` tries and back-off starting at
    /// `first_wait` and doubling.
    pub fn new(attempts: u32, first_wait: Duration) -> Result<Webhook, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mamori/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Webhook {
            client,
            attempts: attempts.max(1),
            first_wait,
        })
    }

    /// POSTs `body` as `application/json`. Returns the number of attempts it took.
    pub async fn post(&self, url: &str, body: &serde_json::Value) -> Result<u32, WebhookError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WebhookError::Url(url.to_owned()));
        }
        let mut wait = self.first_wait;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match self.client.post(url).json(body).send().await {
                Ok(r) if r.status().is_success() => return Ok(attempt),
                Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                    last = format!("HTTP {}", r.status());
                }
                Ok(r) => {
                    return Err(WebhookError::Delivery {
                        url: url.to_owned(),
                        attempts: attempt,
                        message: format!("HTTP {}", r.status()),
                    });
                }
                Err(e) => last = e.to_string(),
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(WebhookError::Delivery {
            url: url.to_owned(),
            attempts: self.attempts,
            message: last,
        })
    }
}
