//! The CHECK constraint of each field type, per dialect: the database's half of every rule
//! that a value type's constructor enforces in Rust.

use crate::sql::Dialect;

use super::date::Date;
use super::email::EmailAddress;
use super::field_type::FieldType;
use super::login::Login;
use super::password_hash::PasswordHash;
use super::phone::Phone;
use super::port::Port;
use super::time::UtcTime;
use super::uri::CalendarUri;

/// SQLite `GLOB` class of the characters refused in [`FieldType::Str`]: the C0 controls
/// (U+0001..U+001F), DEL and the C1 controls (U+007F..U+009F). NUL cannot reach SQLite text
/// through calstore (Rust refuses it; SQLite's `length()` stops at it).
const SQLITE_CONTROLS: &str =
    "'*[' || char(1) || '-' || char(31) || char(127) || '-' || char(159) || ']*'";
/// The same class plus the space, for URIs.
const SQLITE_CONTROLS_AND_SPACE: &str =
    "'*[' || char(1) || '-' || char(32) || char(127) || '-' || char(159) || ']*'";

impl FieldType {
    /// The CHECK expression on column `c` in `dialect` (without `CHECK (…)`), equivalent to
    /// the Rust constructor's rule as far as the engine can express it (the differences are
    /// listed in the value types' documentation). `c` must be a static column name.
    pub fn check_sql(&self, dialect: Dialect, c: &str) -> String {
        let postgres = dialect == Dialect::Postgres;
        match self {
            FieldType::Id | FieldType::Ref { .. } | FieldType::SoftRef { .. } => {
                format!("{c} >= 1")
            }
            FieldType::Int { min, max } => format!("{c} BETWEEN {min} AND {max}"),
            FieldType::Port => format!("{c} BETWEEN 1 AND {}", Port::MAX),
            FieldType::Time => format!("{c} BETWEEN 0 AND {}", UtcTime::MAX_MICROS),
            FieldType::Str { max } => {
                if postgres {
                    format!(
                        "char_length({c}) BETWEEN 1 AND {max} AND {c} !~ '[\\x01-\\x1f\\x7f-\\x9f]' \
                         AND {c} IS NFC NORMALIZED"
                    )
                } else {
                    format!("length({c}) BETWEEN 1 AND {max} AND {c} NOT GLOB ({SQLITE_CONTROLS})")
                }
            }
            FieldType::Login => {
                let (min, max) = (Login::MIN_LEN, Login::MAX_LEN);
                if postgres {
                    format!("{c} ~ '^[a-z0-9_.-]{{{min},{max}}}$'")
                } else {
                    format!("length({c}) BETWEEN {min} AND {max} AND {c} NOT GLOB '*[^a-z0-9_.-]*'")
                }
            }
            FieldType::Enum { variants } => {
                let list: Vec<String> = variants.iter().map(|v| format!("'{v}'")).collect();
                format!("{c} IN ({})", list.join(", "))
            }
            FieldType::Email => email_check(postgres, c),
            FieldType::Ipv4 => {
                if postgres {
                    format!("{c} ~ '^[0-9a-f]{{8}}$'")
                } else {
                    format!("length({c}) = 8 AND {c} NOT GLOB '*[^0-9a-f]*'")
                }
            }
            FieldType::IpAddr => {
                let mapped = "00000000000000000000ffff";
                if postgres {
                    format!(
                        "{c} ~ '^([0-9a-f]{{8}}|[0-9a-f]{{32}})$' AND substr({c}, 1, 24) <> '{mapped}'"
                    )
                } else {
                    format!(
                        "(length({c}) = 8 OR (length({c}) = 32 AND substr({c}, 1, 24) <> '{mapped}')) \
                         AND {c} NOT GLOB '*[^0-9a-f]*'"
                    )
                }
            }
            FieldType::Date => date_check(postgres, c),
            FieldType::Phone => {
                let digits = Phone::MAX_DIGITS;
                if postgres {
                    format!("{c} ~ '^\\+[1-9][0-9]{{1,{}}}$'", digits - 1)
                } else {
                    format!(
                        "length({c}) BETWEEN 3 AND {} AND {c} GLOB '+[1-9]*' \
                         AND substr({c}, 2) NOT GLOB '*[^0-9]*'",
                        digits + 1
                    )
                }
            }
            FieldType::CountryCode => {
                if postgres {
                    format!("{c} ~ '^[A-Z]{{2}}$'")
                } else {
                    format!("length({c}) = 2 AND {c} NOT GLOB '*[^A-Z]*'")
                }
            }
            FieldType::PasswordHash => {
                let (min, max) = (PasswordHash::MIN_LEN, PasswordHash::MAX_LEN);
                if postgres {
                    format!(
                        "char_length({c}) <= {max} AND {c} ~ '^\\$argon2id\\$v=19\\$m=[1-9][0-9]{{0,9}},\
                         t=[1-9][0-9]{{0,9}},p=[1-9][0-9]{{0,7}}\\$[A-Za-z0-9+/]{{22,}}\\$[A-Za-z0-9+/]{{43,}}$'"
                    )
                } else {
                    format!(
                        "length({c}) BETWEEN {min} AND {max} \
                         AND {c} GLOB '$argon2id$v=19$m=[1-9]*,t=[1-9]*,p=[1-9]*$*$*' \
                         AND {c} NOT GLOB '*[^A-Za-z0-9+/$=,]*' \
                         AND length({c}) - length(replace({c}, '$', '')) = 5 \
                         AND length({c}) - length(replace({c}, ',', '')) = 2 \
                         AND length({c}) - length(replace({c}, '=', '')) = 4"
                    )
                }
            }
            FieldType::Digest => {
                if postgres {
                    format!("octet_length({c}) = 32")
                } else {
                    format!("length({c}) = 32")
                }
            }
            FieldType::CalendarUri => {
                let max = CalendarUri::MAX_LEN;
                if postgres {
                    format!(
                        "char_length({c}) <= {max} \
                         AND {c} ~ '^[A-Za-z][A-Za-z0-9+.-]*:[^\\x01-\\x20\\x7f-\\x9f]+$'"
                    )
                } else {
                    format!(
                        "length({c}) BETWEEN 3 AND {max} AND {c} GLOB '[A-Za-z]*:?*' \
                         AND substr({c}, 1, instr({c}, ':') - 1) NOT GLOB '*[^A-Za-z0-9+.-]*' \
                         AND {c} NOT GLOB ({SQLITE_CONTROLS_AND_SPACE})"
                    )
                }
            }
        }
    }
}

/// Email: PostgreSQL checks the whole grammar with a regular expression; SQLite (no regular
/// expressions) checks lengths, exactly one `@`, the character sets of both parts and the
/// position of dots and hyphens, but not the 63-character limit of a domain label.
fn email_check(postgres: bool, c: &str) -> String {
    let (max, local) = (EmailAddress::MAX_LEN, EmailAddress::MAX_LOCAL_LEN);
    if postgres {
        let atext = "[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]";
        let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
        format!(
            "char_length({c}) <= {max} AND char_length(split_part({c}, '@', 1)) <= {local} \
             AND {c} ~ '^{atext}+(\\.{atext}+)*@{label}(\\.{label})*$'"
        )
    } else {
        let domain = format!("substr({c}, instr({c}, '@') + 1)");
        format!(
            "length({c}) BETWEEN 3 AND {max} AND instr({c}, '@') BETWEEN 2 AND {} \
             AND length({c}) > instr({c}, '@') AND instr({domain}, '@') = 0 \
             AND {c} NOT GLOB '*[^A-Za-z0-9.!#$%&''*+/=?^_`{{|}}~@-]*' \
             AND {domain} NOT GLOB '*[^A-Za-z0-9.-]*' \
             AND {c} NOT GLOB '.*' AND {c} NOT GLOB '*..*' AND {c} NOT GLOB '*.@*' \
             AND {c} NOT GLOB '*@[.-]*' AND {c} NOT GLOB '*[.-]' \
             AND {domain} NOT GLOB '*-.*' AND {domain} NOT GLOB '*.-*'",
            local + 1
        )
    }
}

/// Date: SQLite normalises with `date(x, '+0 days')` (which turns 2021-02-30 into
/// 2021-03-02, so a non-date is not equal to its normal form); PostgreSQL compares the day
/// with the month's length, inside a CASE so that nothing is cast before the pattern matched
/// (a cast error would be a data exception, not a CHECK violation).
fn date_check(postgres: bool, c: &str) -> String {
    let (min, _) = Date::RANGE_TEXT;
    if postgres {
        let year = format!("CAST(substr({c}, 1, 4) AS integer)");
        format!(
            "{c} IS NULL OR CASE WHEN {c} ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' \
             AND {c} >= '{min}' THEN CAST(substr({c}, 9, 2) AS integer) <= CASE substr({c}, 6, 2) \
             WHEN '02' THEN CASE WHEN {year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0) \
             THEN 29 ELSE 28 END WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 \
             WHEN '11' THEN 30 ELSE 31 END ELSE false END"
        )
    } else {
        format!(
            "length({c}) = 10 AND {c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' \
             AND {c} >= '{min}' AND date({c}, '+0 days') IS {c}"
        )
    }
}
