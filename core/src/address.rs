//! Calendar addresses (the URIs that name calendar users) in one spelling.
//!
//! The same person can be written `mailto:paul@example.com`, `MAILTO:paul@example.com` or
//! `mailto:paul@EXAMPLE.COM`: a URI's scheme is case-insensitive (RFC 3986 §3.1) and so is a
//! mail domain (RFC 5321 §2.4, which RFC 6068 `mailto:` URIs carry). The local part (before
//! the `@`) is left exactly as given: RFC 5321 lets the receiving domain tell `Paul` from
//! `paul`, so only it may decide they are the same.
//!
//! Every user URI that enters calstore — a store or journal method's user, a CLI argument,
//! the JavaScript API, an account's calendar grant, an address read from an ATTENDEE that
//! becomes a local user — is written in the form [`normalise`] gives, so that the three
//! spellings above are one user (ATTENDEE matching inside events was already
//! case-insensitive). Databases written before this rule are brought to it by the store's
//! schema version 3 (see `docs/decisions/0015-calendar-addresses.md`).

use std::borrow::Cow;

/// `uri` with its scheme in lower case and, for `mailto:`, its domain in lower case; the
/// local part and anything that is not a calendar address (no `:`) unchanged. Borrowed when
/// it is already in that form (the usual case).
///
/// ```
/// use calstore_core::address::normalise;
/// assert_eq!(normalise("MAILTO:Paul.Boddie@Example.COM"), "mailto:Paul.Boddie@example.com");
/// assert_eq!(normalise("mailto:paul@example.com"), "mailto:paul@example.com");
/// assert_eq!(normalise("HTTPS://Example.com/Cal"), "https://Example.com/Cal");
/// ```
pub fn normalise(uri: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Cow::Borrowed(uri);
    };
    let is_mailto = scheme.eq_ignore_ascii_case("mailto");
    // The domain: after the last '@' of the address, up to any `?` header fields.
    let domain = if is_mailto {
        let address_end = rest.find('?').unwrap_or(rest.len());
        rest[..address_end]
            .rfind('@')
            .map(|at| scheme.len() + 1 + at + 1..scheme.len() + 1 + address_end)
    } else {
        None
    };
    let scheme_upper = scheme.bytes().any(|b| b.is_ascii_uppercase());
    let domain_upper = domain.clone().is_some_and(|d| {
        let text = &uri[d];
        text.chars().flat_map(char::to_lowercase).ne(text.chars())
    });
    if !scheme_upper && !domain_upper {
        return Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len());
    out.push_str(&scheme.to_ascii_lowercase());
    out.push(':');
    match domain {
        Some(d) => {
            out.push_str(&uri[scheme.len() + 1..d.start]);
            out.push_str(&uri[d.clone()].to_lowercase());
            out.push_str(&uri[d.end..]);
        }
        None => out.push_str(rest),
    }
    Cow::Owned(out)
}

/// [`normalise`] as an owned string.
pub fn normalised(uri: &str) -> String {
    normalise(uri).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_domain_lower_case_local_part_kept() {
        for (given, expected) in [
            ("mailto:paul@example.com", "mailto:paul@example.com"),
            ("MAILTO:paul@example.com", "mailto:paul@example.com"),
            ("mailto:PAUL@example.com", "mailto:PAUL@example.com"),
            ("MailTo:Paul@Example.Com", "mailto:Paul@example.com"),
            (
                "mailto:a@B.example?subject=Hi",
                "mailto:a@b.example?subject=Hi",
            ),
            (
                "mailto:\"odd@local\"@EXAMPLE.com",
                "mailto:\"odd@local\"@example.com",
            ),
            ("mailto:nodomain", "mailto:nodomain"),
            ("mailto:x@ÉTÉ.example", "mailto:x@été.example"),
            ("URN:uuid:ABC", "urn:uuid:ABC"),
            ("https://Example.com/Cal", "https://Example.com/Cal"),
            ("no scheme at all", "no scheme at all"),
            ("", ""),
        ] {
            assert_eq!(normalise(given), expected, "{given}");
            // Normal already: the same again, borrowed.
            assert_eq!(normalise(expected), expected);
            assert!(
                matches!(normalise(expected), Cow::Borrowed(_)),
                "{expected}"
            );
        }
    }
}
