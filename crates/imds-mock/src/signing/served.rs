//! What one server signs with, the signatures it served last, and the
//! handle's methods that switch the authority.

use std::fmt;
use std::sync::Mutex;

use super::{IdentitySigner, SignatureForm, SigningError};
use crate::MockImds;
use crate::sync::lock;

/// A server's signing state: its authority, and the last signature made
/// per form (a signature costs milliseconds in a debug build; the
/// document rarely changes). `Debug` names the authority and the forms
/// kept, never a signature.
pub(crate) struct Signatures {
    signer: Mutex<&'static IdentitySigner>,
    last: Mutex<Vec<Signed>>,
}

struct Signed {
    signer: &'static IdentitySigner,
    form: SignatureForm,
    document: Vec<u8>,
    text: String,
}

impl Default for Signatures {
    fn default() -> Self {
        Signatures {
            signer: Mutex::new(IdentitySigner::test()),
            last: Mutex::new(Vec::new()),
        }
    }
}

impl fmt::Debug for Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept: Vec<SignatureForm> = lock(&self.last).iter().map(|signed| signed.form).collect();
        f.debug_struct("Signatures")
            .field("signer", &lock(&self.signer).name())
            .field("kept", &kept)
            .finish()
    }
}

impl Signatures {
    /// `form`'s signature over `document` by the current authority.
    pub(crate) fn sign(
        &self,
        form: SignatureForm,
        document: &[u8],
    ) -> Result<String, SigningError> {
        let signer = *lock(&self.signer);
        let same = |signed: &Signed| {
            std::ptr::eq(signed.signer, signer)
                && signed.form == form
                && signed.document == document
        };
        if let Some(signed) = lock(&self.last).iter().find(|signed| same(signed)) {
            return Ok(signed.text.clone());
        }
        // Signed without holding the lock; two requests may both sign.
        let text = signer.sign(form, document)?;
        let mut last = lock(&self.last);
        last.retain(|signed| signed.form != form);
        last.push(Signed {
            signer,
            form,
            document: document.to_vec(),
            text: text.clone(),
        });
        Ok(text)
    }
}

impl MockImds {
    /// The authority the server signs the identity document with
    /// ([`IdentitySigner::test`] unless changed): its
    /// [`certificate_pem`](IdentitySigner::certificate_pem) is what a
    /// verifier under test trusts.
    pub fn identity_signer(&self) -> &'static IdentitySigner {
        *lock(&self.state.signatures.signer)
    }

    /// Signs the identity document with `signer` from now on; with
    /// [`IdentitySigner::impostor`], the signatures come from keys a
    /// verifier trusting the test certificates must refuse.
    pub fn set_identity_signer(&self, signer: &'static IdentitySigner) {
        *lock(&self.state.signatures.signer) = signer;
    }
}
