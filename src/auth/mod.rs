//! Who is calling: password hashing, JWTs, the [`Caller`] extractor and the tenant rules
//! every resource applies (which brand/client a caller may see and write).

pub mod caller;
pub mod jwt;
pub mod login;
pub mod password;
pub mod throttle;

pub use caller::{Caller, Role};
