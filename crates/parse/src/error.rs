//! The parse error every format returns.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{format}: line longer than {max} bytes")]
    TooLong { format: &'static str, max: usize },
    #[error("{format}: at byte {offset}: expected {expected}")]
    Syntax {
        format: &'static str,
        offset: usize,
        expected: &'static str,
    },
}

impl ParseError {
    /// Refuses lines longer than [`crate::MAX_LINE`].
    pub(crate) fn check_len(format: &'static str, line: &str) -> Result<(), ParseError> {
        if line.len() > crate::MAX_LINE {
            return Err(ParseError::TooLong {
                format,
                max: crate::MAX_LINE,
            });
        }
        Ok(())
    }

    pub(crate) fn at(format: &'static str, offset: usize, expected: &'static str) -> Self {
        ParseError::Syntax {
            format,
            offset,
            expected,
        }
    }
}
