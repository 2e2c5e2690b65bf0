//! sso-callback: ClassLink single sign-on for teachers. So far: the
//! sign-in decision (who may sign in) and one-time login tickets; the OIDC flow, tickets and pages land
//! with the rest of issue #6.

pub mod decide;
pub mod tickets;
