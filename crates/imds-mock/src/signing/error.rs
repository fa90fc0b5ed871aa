//! Why a signature could not be made.

use std::fmt;

use super::SignatureForm;

/// A signature could not be made (an embedded key or certificate did not
/// parse, or an encoding failed). Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot make the {form} signature of the identity document: {reason}")]
pub struct SigningError {
    form: SignatureForm,
    reason: String,
}

impl SigningError {
    pub(super) fn new(form: SignatureForm, reason: impl fmt::Display) -> Self {
        SigningError {
            form,
            reason: reason.to_string(),
        }
    }
}
