//! sso-callback's tests: the sign-in decision on a real roster, single sign-on end to end
//! against a real OpenID provider, and the real binary under a Runtime API emulator.
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod common;
mod decide;
mod lambda;
mod sso;
