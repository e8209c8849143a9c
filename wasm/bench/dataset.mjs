// The benchmark dataset of tests/benches/common/mod.rs (`dataset(n)`), ported: the same
// xorshift64* generator from seed 42 and the same iCalendar text, byte for byte (run.mjs
// checks that against the native generator on every run).
//
// One resource with N objects; start dates uniform over 730 days from 2026-01-01, hours 07–18
// Europe/Berlin; 85 % single 1-hour events (10 % of them TENTATIVE), 10 % weekly COUNT=10 with
// one EXDATE, 5 % all-day TRANSPARENT.

const MASK = (1n << 64n) - 1n;

/** xorshift64* as in the Rust benchmark: the state is advanced, the product returned. */
class Rng {
  constructor(seed) {
    this.state = BigInt(seed) & MASK;
  }
  next() {
    let x = this.state;
    x ^= x >> 12n;
    x ^= (x << 25n) & MASK;
    x ^= x >> 27n;
    this.state = x;
    return (x * 0x2545f4914f6cdd1dn) & MASK;
  }
  below(n) {
    return Number(this.next() % BigInt(n));
  }
}

const pad = (n) => String(n).padStart(2, "0");
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 1);

/** `YYYYMMDD` of the day `days` after 2026-01-01. */
function ymd(days) {
  const d = new Date(BASE + days * DAY);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

/** The iCalendar text of `n` events, from seed 42. */
export function dataset(n, seed = 42) {
  const rng = new Rng(seed);
  const out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//bench//EN\r\n"];
  for (let i = 0; i < n; i++) {
    const day = rng.below(730);
    const hour = 7 + rng.below(12);
    const d = ymd(day);
    const kind = rng.below(100);
    out.push("BEGIN:VEVENT\r\n");
    out.push(`UID:bench-${i}@example.com\r\nDTSTAMP:20260101T000000Z\r\n`);
    if (kind < 85) {
      out.push(
        `DTSTART;TZID=Europe/Berlin:${d}T${pad(hour)}0000\r\nDTEND;TZID=Europe/Berlin:${d}T${pad(hour + 1)}0000\r\n`,
      );
      if (rng.below(10) === 0) out.push("STATUS:TENTATIVE\r\n");
      out.push(`SUMMARY:Meeting ${i}\r\n`);
    } else if (kind < 95) {
      out.push(
        `DTSTART;TZID=Europe/Berlin:${d}T${pad(hour)}0000\r\nDURATION:PT1H\r\n` +
          `RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID=Europe/Berlin:${ymd(day + 14)}T${pad(hour)}0000\r\n` +
          `SUMMARY:Weekly ${i}\r\n`,
      );
    } else {
      out.push(
        `DTSTART;VALUE=DATE:${d}\r\nDTEND;VALUE=DATE:${ymd(day + 1)}\r\nTRANSP:TRANSPARENT\r\n` +
          `SUMMARY:All day ${i}\r\n`,
      );
    }
    out.push("END:VEVENT\r\n");
  }
  out.push("END:VCALENDAR\r\n");
  return out.join("");
}

/** The benchmark's user and the options its import uses (tests/benches/common: now, options). */
export const USER = "mailto:resource-room-bench@example.com";
export const NOW = "20260101T000000Z";
export const IMPORT_OPTIONS = { tz: "Europe/Berlin", expandUntil: "20290101T000000Z" };
/** The week the free/busy query asks for: 2026-06-15 .. 2026-06-22. */
export const WEEK = { from: "20260615T000000Z", to: "20260622T000000Z" };
