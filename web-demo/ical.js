// The little iCalendar the web calendar writes and edits itself: reading one VEVENT's
// properties, changing some of them and keeping the rest (descriptions, alarms, anything a
// client the page does not know put there), times in the user's zone. Parsing, expansion,
// free/busy and scheduling are calstore's (the wasm module); this is only the form's side.

/** `YYYYMMDDTHHMMSSZ` → epoch ms. */
export function parseUtc(s) {
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11) || 0, +s.slice(11, 13) || 0, +s.slice(13, 15) || 0);
}

/** epoch ms → `YYYYMMDDTHHMMSSZ`. */
export function utc(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const formats = new Map();
function partsFormat(tz) {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formats.set(tz, f);
  }
  return f;
}

/** The wall clock in `tz` at `ms`: {y, m, d, h, mi, s, dow (0 = Monday)}. */
export function wall(ms, tz) {
  const p = Object.fromEntries(partsFormat(tz).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const dow = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(p.weekday);
  return { y: +p.year, m: +p.month, d: +p.day, h: +p.hour, mi: +p.minute, s: +p.second, dow };
}

function offsetAt(ms, tz) {
  const w = wall(ms, tz);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/** A wall-clock time in `tz` → epoch ms (month 1-12; days and hours may overflow). */
export function zoned(y, m, d, h = 0, mi = 0, tz = "UTC") {
  const guess = Date.UTC(y, m - 1, d, h, mi);
  return guess - offsetAt(guess - offsetAt(guess, tz), tz);
}

/** The start of the day of `ms` in `tz`. */
export function dayStart(ms, tz) {
  const w = wall(ms, tz);
  return zoned(w.y, w.m, w.d, 0, 0, tz);
}

/** `ms` plus `n` calendar days in `tz` (same wall-clock time). */
export function addDays(ms, n, tz) {
  const w = wall(ms, tz);
  return zoned(w.y, w.m, w.d + n, w.h, w.mi, tz);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** `YYYYMMDDTHHMMSS` wall clock in tz. */
export function local(ms, tz) {
  const w = wall(ms, tz);
  return `${pad(w.y, 4)}${pad(w.m)}${pad(w.d)}T${pad(w.h)}${pad(w.mi)}${pad(w.s)}`;
}

/** `YYYY-MM-DD` and `HH:MM` of ms in tz (for form fields). */
export function fields(ms, tz) {
  const w = wall(ms, tz);
  return { date: `${pad(w.y, 4)}-${pad(w.m)}-${pad(w.d)}`, time: `${pad(w.h)}:${pad(w.mi)}` };
}

/** Form fields → ms. */
export function fromFields(date, time, tz) {
  const [y, m, d] = date.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  return zoned(y, m, d, h, mi, tz);
}

/** Unfolded content lines of a text. */
export function unfold(text) {
  return text.replace(/\r?\n[ \t]/g, "").split(/\r?\n/).filter((l) => l.length > 0);
}

/** One content line: {name, params: {NAME: value}, value, raw}. */
export function parseLine(raw) {
  // The value starts at the first ':' outside quotes.
  let i = 0;
  let quoted = false;
  for (; i < raw.length; i += 1) {
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (c === ":" && !quoted) break;
  }
  const head = raw.slice(0, i);
  const value = raw.slice(i + 1);
  const parts = head.match(/(?:[^;"]|"[^"]*")+/g) ?? [head];
  const params = {};
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/^"|"$/g, "");
  }
  return { name: parts[0].toUpperCase(), params, value, raw };
}

/**
 * The VEVENTs of a text, each as {lines: [raw] (its own properties, unfolded), sub: [raw]
 * (nested components such as VALARM, kept as they are)}.
 */
export function events(text) {
  const out = [];
  let cur = null;
  let depth = 0;
  for (const raw of unfold(text)) {
    const upper = raw.toUpperCase();
    if (upper === "BEGIN:VEVENT" && !cur) {
      cur = { lines: [], sub: [] };
      depth = 0;
    } else if (upper === "END:VEVENT" && cur && depth === 0) {
      out.push(cur);
      cur = null;
    } else if (cur) {
      if (upper.startsWith("BEGIN:")) depth += 1;
      if (depth > 0) cur.sub.push(raw);
      else cur.lines.push(raw);
      if (upper.startsWith("END:")) depth -= 1;
    }
  }
  return out;
}

/** The first property `name` of an event, parsed, or null. */
export function prop(ev, name) {
  for (const raw of ev.lines) {
    const p = parseLine(raw);
    if (p.name === name) return p;
  }
  return null;
}

/** Every property `name` of an event, parsed. */
export function props(ev, name) {
  return ev.lines.map(parseLine).filter((p) => p.name === name);
}

/** A date or date-time property → epoch ms (floating times read in `tz`). */
export function timeOf(p, tz) {
  if (!p) return null;
  const v = p.value.trim();
  const y = +v.slice(0, 4);
  const m = +v.slice(4, 6);
  const d = +v.slice(6, 8);
  if (v.length === 8) return zoned(y, m, d, 0, 0, p.params.TZID ?? tz);
  const h = +v.slice(9, 11);
  const mi = +v.slice(11, 13);
  const s = +v.slice(13, 15) || 0;
  if (v.endsWith("Z")) return Date.UTC(y, m - 1, d, h, mi, s);
  let zone = p.params.TZID ?? tz;
  try {
    partsFormat(zone);
  } catch {
    zone = tz;
  }
  return zoned(y, m, d, h, mi, zone) + s * 1000;
}

/** TEXT escaping (RFC 5545 §3.3.11). */
export function escapeText(s) {
  return String(s).replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\r?\n/g, "\\n");
}

export function unescapeText(s) {
  return String(s ?? "").replace(/\\n/gi, "\n").replace(/\\([,;\\])/g, "$1");
}

/** A DTSTART/DTEND-like line at `ms` in `tz` (UTC form for UTC). */
export function timeLine(name, ms, tz) {
  if (tz === "UTC" || tz === "Etc/UTC") return `${name}:${utc(ms)}`;
  return `${name};TZID=${tz}:${local(ms, tz)}`;
}

/** Folds a content line at 75 octets. */
function fold(line) {
  const bytes = new TextEncoder().encode(line);
  if (bytes.length <= 75) return line;
  const out = [];
  let cur = "";
  let len = 0;
  for (const ch of line) {
    const n = new TextEncoder().encode(ch).length;
    if (len + n > (out.length === 0 ? 75 : 74)) {
      out.push(cur);
      cur = "";
      len = 0;
    }
    cur += ch;
    len += n;
  }
  out.push(cur);
  return out.join("\r\n ");
}

/** A VCALENDAR of events ({lines, sub}). */
export function calendar(evs) {
  const out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calstore//web calendar//EN"];
  for (const ev of evs) out.push("BEGIN:VEVENT", ...ev.lines, ...ev.sub, "END:VEVENT");
  out.push("END:VCALENDAR");
  return `${out.map(fold).join("\r\n")}\r\n`;
}

/**
 * The event with the properties of `set` replaced (name → array of raw lines, or [] to drop
 * them); every other property is kept.
 */
export function withProps(ev, set) {
  const names = new Set(Object.keys(set));
  const lines = ev.lines.filter((raw) => !names.has(parseLine(raw).name));
  for (const list of Object.values(set)) lines.push(...list);
  return { lines, sub: [...ev.sub] };
}

/** A new event. */
export function newEvent({ uid, summary, start, end, tz, rrule, organiser, attendees, dtstamp }) {
  const lines = [`UID:${uid}`, `DTSTAMP:${dtstamp}`, "SEQUENCE:0", timeLine("DTSTART", start, tz), timeLine("DTEND", end, tz), `SUMMARY:${escapeText(summary)}`];
  if (rrule) lines.push(`RRULE:${rrule}`);
  if (attendees.length > 0) {
    lines.push(`ORGANIZER:${organiser}`, `ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:${organiser}`);
    for (const a of attendees) lines.push(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${a}`);
  }
  return { lines, sub: [] };
}

/** The RRULE's parts as an object (`{FREQ: "WEEKLY", COUNT: "5"}`). */
export function ruleParts(value) {
  return Object.fromEntries(
    String(value ?? "")
      .split(";")
      .filter(Boolean)
      .map((p) => p.split("=")),
  );
}

export function ruleText(parts) {
  return Object.entries(parts)
    .map(([k, v]) => `${k}=${v}`)
    .join(";");
}

/** An attendee line with its PARTSTAT set (other parameters kept). */
export function withPartstat(raw, partstat) {
  const p = parseLine(raw);
  const params = { ...p.params, PARTSTAT: partstat };
  delete params.RSVP;
  delete params["X-CALSTORE-REASON"];
  const head = [p.name, ...Object.entries(params).map(([k, v]) => (/[;:,]/.test(v) ? `${k}="${v}"` : `${k}=${v}`))].join(";");
  return `${head}:${p.value}`;
}

/** True if two calendar addresses are the same (mailto: case-insensitively). */
export function sameAddress(a, b) {
  return String(a ?? "").toLowerCase() === String(b ?? "").toLowerCase();
}
