//! `scheduling_function`: the functions a resource decides requests with, one per line,
//! each a name and its arguments (imip-agent's `get_scheduling_functions`).

/// The scheduling functions calstore implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulingFunctionKind {
    /// Accept if the event's periods are free in the resource's free/busy and live offers;
    /// an argument N allows N concurrent bookings (imip-agent read it from the wrong
    /// argument).
    ScheduleInFreebusy,
    /// Correct the periods to `permitted_times` first: a corrected, free period is answered
    /// with a COUNTER proposing it (and an offer if `freebusy_offers` is set).
    ScheduleCorrectedInFreebusy,
    /// Like the corrected form, but a busy period is moved to the next free one (COUNTER).
    ScheduleNextAvailableInFreebusy,
    /// Check the organiser's quota (argument: the quota, else the resource's URI); on
    /// acceptance the booking is recorded against it, on cancellation retracted.
    CheckQuota,
    /// Refuse if the organiser already has a booking at that time on another resource of
    /// the quota (argument: the quota, else the resource's URI).
    ScheduleAcrossQuota,
}

/// One line of `scheduling_function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulingFunction {
    /// Which function.
    pub kind: SchedulingFunctionKind,
    /// Its arguments (white-space separated words after the name).
    pub args: Vec<String>,
}

impl SchedulingFunction {
    /// The quota a quota function works on: its first argument, else `resource`.
    pub fn quota<'a>(&'a self, resource: &'a str) -> &'a str {
        self.args.first().map_or(resource, String::as_str)
    }
}

/// Parses the preference value: one function per non-empty line.
pub fn parse_scheduling_functions(value: &str) -> Result<Vec<SchedulingFunction>, String> {
    let mut out = Vec::new();
    for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<String> = words.map(str::to_owned).collect();
        let kind = match name {
            "schedule_in_freebusy" => SchedulingFunctionKind::ScheduleInFreebusy,
            "schedule_corrected_in_freebusy" => SchedulingFunctionKind::ScheduleCorrectedInFreebusy,
            "schedule_next_available_in_freebusy" => {
                SchedulingFunctionKind::ScheduleNextAvailableInFreebusy
            }
            "check_quota" => SchedulingFunctionKind::CheckQuota,
            "schedule_across_quota" => SchedulingFunctionKind::ScheduleAcrossQuota,
            other => {
                return Err(format!(
                    "unknown scheduling function {other:?} (known: schedule_in_freebusy, \
                     schedule_corrected_in_freebusy, schedule_next_available_in_freebusy, \
                     check_quota, schedule_across_quota)"
                ));
            }
        };
        match kind {
            SchedulingFunctionKind::ScheduleInFreebusy => {
                if let Some(n) = args.first()
                    && n.parse::<u32>().ok().filter(|n| *n >= 1).is_none()
                {
                    return Err(format!(
                        "schedule_in_freebusy {n}: not a number of at least 1"
                    ));
                }
            }
            SchedulingFunctionKind::CheckQuota | SchedulingFunctionKind::ScheduleAcrossQuota => {
                if let Some(q) = args.first() {
                    crate::validate::name("quota", q).map_err(|e| e.to_string())?;
                }
            }
            _ => {}
        }
        out.push(SchedulingFunction { kind, args });
    }
    if out.is_empty() {
        return Err("no scheduling function given".to_owned());
    }
    Ok(out)
}
