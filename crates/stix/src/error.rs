//! Errors of the object model and bundle parser. Every variant names where the problem is: the
//! object id when it is known and a JSON path such as `$.objects[3].created`.

/// Why a STIX document, object or property was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StixError {
    /// The input is larger than [`crate::Limits::max_bytes`].
    #[error("document is {size} bytes, more than the limit of {max}")]
    TooLarge { size: usize, max: usize },
    /// JSON nesting deeper than [`crate::Limits::max_depth`], found at this byte offset.
    #[error("JSON nesting deeper than {max} at byte {offset}")]
    TooDeep { max: usize, offset: usize },
    /// More objects than [`crate::Limits::max_objects`].
    #[error("bundle has {count} objects, more than the limit of {max}")]
    TooManyObjects { count: usize, max: usize },
    /// The bytes are not JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// A required property is absent.
    #[error("{object}: required property {path} is missing")]
    Missing { object: String, path: String },
    /// A property is present but its value is not acceptable.
    #[error("{object}: {path}: {message}")]
    Invalid {
        object: String,
        path: String,
        message: String,
    },
}

impl StixError {
    pub(crate) fn invalid(object: &str, path: &str, message: impl Into<String>) -> StixError {
        StixError::Invalid {
            object: object.to_owned(),
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn missing(object: &str, path: &str) -> StixError {
        StixError::Missing {
            object: object.to_owned(),
            path: path.to_owned(),
        }
    }

    pub(crate) fn from_json(e: &serde_json::Error) -> StixError {
        StixError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}
