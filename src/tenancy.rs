//! Tenancy rules that are plain data: client types and which endpoint types each accepts
//! (IvozProvider's: a vPBX has users, fax and friends; a retail client retail accounts; a
//! residential client residential devices and fax; a wholesale client none).

pub const CLIENT_TYPES: &[&str] = &["vpbx", "residential", "retail", "wholesale"];

pub const ENDPOINT_TYPES: &[&str] = &[
    "User",
    "Fax",
    "Friend",
    "RetailAccount",
    "ResidentialDevice",
];

/// The endpoint types a client of `client_type` may have.
pub fn endpoint_types_for(client_type: &str) -> &'static [&'static str] {
    match client_type {
        "vpbx" => &["User", "Fax", "Friend"],
        "retail" => &["RetailAccount"],
        "residential" => &["ResidentialDevice", "Fax"],
        _ => &[],
    }
}

pub fn endpoint_type_fits(client_type: &str, endpoint_type: &str) -> bool {
    endpoint_types_for(client_type).contains(&endpoint_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_types_fit_client_types() {
        assert!(endpoint_type_fits("vpbx", "Friend"));
        assert!(endpoint_type_fits("residential", "Fax"));
        assert!(!endpoint_type_fits("retail", "User"));
        assert!(!endpoint_type_fits("wholesale", "User"));
        assert!(!endpoint_type_fits("vpbx", "user"));
    }
}
