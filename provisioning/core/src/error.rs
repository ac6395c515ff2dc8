//! Validation errors that name the field at fault.

use std::fmt;

/// A rejected input: which field, and why. The API turns it into a problem+json body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field in the API's camelCase naming (`tenantKey`, `instructionUri`, …).
    pub field: String,
    /// A sentence for a human.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
