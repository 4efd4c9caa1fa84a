//! Reading an uploaded message under `[mail] max_message_bytes`: the raw body of the API
//! routes and the multipart forms of the console. The routes that use these readers turn
//! axum's default body limit off, because the cap comes from the configuration, which the
//! router is built without; these readers stop at the cap instead, so an oversized upload is
//! refused with 413 after at most the cap has been read.

use axum::body::Body;
use axum::extract::Multipart;
use futures_util::StreamExt;

use crate::ApiError;

/// Largest text field (CSRF token, TLP, group id...) of an upload form.
const MAX_FORM_TEXT: usize = 64 * 1024;
/// Bytes the fields other than the message may add up to in one form.
const MAX_FORM_OTHER: usize = 1024 * 1024;

/// The configured cap as a length in memory.
fn cap_of(max_message_bytes: u64) -> usize {
    usize::try_from(max_message_bytes).unwrap_or(usize::MAX)
}

/// Reads a raw message body, refusing it (413) once it passes `max_message_bytes`.
pub(crate) async fn read_body(body: Body, max_message_bytes: u64) -> Result<Vec<u8>, ApiError> {
    let cap = cap_of(max_message_bytes);
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(data) = stream.next().await {
        let data = data.map_err(|e| ApiError::Invalid(format!("reading the message: {e}")))?;
        if out.len().saturating_add(data.len()) > cap {
            return Err(ApiError::TooLarge);
        }
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// The fields of a console upload form: the message file and the small text fields.
#[derive(Debug, Default)]
pub(crate) struct UploadForm {
    /// The `message` file field, when one was sent.
    pub message: Option<Vec<u8>>,
    /// The other fields by name (the last one wins), as text.
    pub text: Vec<(String, String)>,
}

impl UploadForm {
    /// A text field's value, or "" when it was not sent.
    pub fn get(&self, name: &str) -> &str {
        self.text
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Reads a multipart upload form: the `message` field up to `max_message_bytes`, every other
/// field up to 64 KiB and all of them together up to 1 MiB.
pub(crate) async fn read_form(
    mut form: Multipart,
    max_message_bytes: u64,
) -> Result<UploadForm, ApiError> {
    let mut out = UploadForm::default();
    let mut other = 0usize;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::Invalid(format!("upload: {e}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let is_message = name == "message";
        let cap = if is_message {
            cap_of(max_message_bytes)
        } else {
            MAX_FORM_TEXT.min(MAX_FORM_OTHER - other)
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ApiError::Invalid(format!("upload: {e}")))?
        {
            if bytes.len().saturating_add(chunk.len()) > cap {
                return Err(if is_message {
                    ApiError::TooLarge
                } else {
                    ApiError::Invalid(format!("upload: the field {name:?} is too large"))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_message {
            out.message = Some(bytes);
        } else {
            other += bytes.len();
            out.text
                .push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Ok(out)
}
