//! Each issue code of the validation report in plain words, for a district's
//! data manager reading the report page: what the code means and what to do
//! about it in the student information system or the export. The words
//! live with the codes ([`IssueCode::explanation`]); this looks them up by
//! the name a stored report or run record holds.

use crate::report::IssueCode;

/// The plain-language explanation of the code named `code`; `None` for a
/// name that is no code (the issue's own message still says what is wrong).
pub fn explain(code: &str) -> Option<&'static str> {
    IssueCode::from_name(code).map(IssueCode::explanation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_code_has_an_explanation() {
        let mut n = 0;
        for code in IssueCode::ALL {
            n += 1;
            let text =
                explain(code.name()).unwrap_or_else(|| panic!("no explanation for `{code}`"));
            assert!(text.ends_with('.') && text.len() > 20, "{code}: {text}");
        }
        assert!(n >= 45, "{n} codes");
        assert_eq!(explain("no_such_code"), None);
    }
}
